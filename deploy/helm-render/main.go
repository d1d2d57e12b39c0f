// helm-render renders a Helm 3 chart the way `helm template` does, with the template
// engine Helm itself uses (Go's text/template and sprig), for machines without a Helm
// binary (this project's CI). It implements what eventsapi's chart uses:
//
//   - the chart's values.yaml, coalesced with each -f file in turn (maps merge, a null
//     removes a default), then checked against values.schema.json (gojsonschema, as
//     Helm 3 does); numbers are float64, as Helm reads them (through JSON);
//   - the built-in objects .Values, .Release, .Chart, .Capabilities (KubeVersion only),
//     .Template and .Files (Get);
//   - sprig's functions less env and expandenv, plus Helm's include, tpl, required,
//     toYaml, fromYaml, toJson, fromJson and lookup (which, as in `helm template`,
//     finds nothing);
//   - missingkey=zero with "<no value>" removed from the output, as Helm does.
//
// Templates are every file of templates/ (partials start with _); each one's output is
// printed after "---" and a "# Source:" line, empty ones are left out. NOTES.txt is
// rendered only with -notes, and printed alone.
//
// Build (Debian: golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev
// golang-github-xeipuuv-gojsonschema-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render ./deploy/helm-render
//
// Use:
//
//	helm-render -chart deploy/helm/eventsapi [-name eventsapi] [-namespace default] [-f values.yaml]... [-notes]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// Chart is .Chart: the fields of Chart.yaml, named as Helm names them.
type Chart struct {
	APIVersion  string `yaml:"apiVersion"`
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	KubeVersion string `yaml:"kubeVersion"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
}

// Release is .Release, for a first install.
type Release struct {
	Name      string
	Namespace string
	Service   string
	Revision  int
	IsInstall bool
	IsUpgrade bool
}

// KubeVersion is .Capabilities.KubeVersion: `helm template`'s default.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

// Capabilities is .Capabilities (only KubeVersion).
type Capabilities struct {
	KubeVersion KubeVersion
}

// TemplateInfo is .Template.
type TemplateInfo struct {
	Name     string
	BasePath string
}

// Files is .Files: the chart's files that are not templates.
type Files struct {
	root string
}

// Get returns a file's contents, or "" if it cannot be read (as Helm does).
func (f Files) Get(name string) string {
	data, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	return string(data)
}

func main() {
	chartDir := flag.String("chart", "", "the chart's directory")
	name := flag.String("name", "eventsapi", "the release's name")
	namespace := flag.String("namespace", "default", "the release's namespace")
	notes := flag.Bool("notes", false, "render NOTES.txt instead of the manifests")
	var files valueFiles
	flag.Var(&files, "f", "a values file (repeatable; later ones win)")
	flag.Parse()
	if *chartDir == "" {
		fmt.Fprintln(os.Stderr, "helm-render: -chart is required")
		os.Exit(2)
	}
	out, err := render(*chartDir, *name, *namespace, files, *notes)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir, name, namespace string, files []string, notes bool) (string, error) {
	var chart Chart
	if err := readYAML(filepath.Join(chartDir, "Chart.yaml"), &chart); err != nil {
		return "", err
	}
	if chart.APIVersion != "v2" {
		return "", fmt.Errorf("Chart.yaml: apiVersion %q is not v2 (Helm 3)", chart.APIVersion)
	}
	values, err := loadValues(chartDir, files)
	if err != nil {
		return "", err
	}
	if err := checkSchema(chartDir, values); err != nil {
		return "", err
	}
	templateNames, root, err := parseTemplates(chartDir, chart.Name)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        chart,
		"Release":      Release{Name: name, Namespace: namespace, Service: "Helm", Revision: 1, IsInstall: true},
		"Capabilities": Capabilities{KubeVersion{Version: "v1.20.0", Major: "1", Minor: "20"}},
		"Files":        Files{root: chartDir},
	}
	var out strings.Builder
	for _, templateName := range templateNames {
		base := path.Base(templateName)
		if strings.HasPrefix(base, "_") || (base == "NOTES.txt") != notes {
			continue
		}
		data := map[string]interface{}{}
		for key, value := range top {
			data[key] = value
		}
		data["Template"] = TemplateInfo{Name: templateName, BasePath: chart.Name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, templateName, data); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if notes {
			out.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", templateName, strings.TrimRight(text, "\n"))
	}
	return out.String(), nil
}

func readYAML(file string, into interface{}) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// loadValues coalesces values.yaml and the -f files, as JSON-typed values (Helm reads
// YAML through JSON: numbers are float64).
func loadValues(chartDir string, files []string) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	for _, file := range append([]string{filepath.Join(chartDir, "values.yaml")}, files...) {
		var layer map[string]interface{}
		if err := readYAML(file, &layer); err != nil {
			return nil, err
		}
		typed, err := asJSON(layer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		coalesce(values, typed.(map[string]interface{}))
	}
	return values, nil
}

func asJSON(value interface{}) (interface{}, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	var typed interface{}
	err = json.Unmarshal(data, &typed)
	if typed == nil {
		typed = map[string]interface{}{}
	}
	return typed, err
}

// coalesce merges layer into values: maps merge key by key, a null removes the key,
// anything else replaces.
func coalesce(values, layer map[string]interface{}) {
	for key, value := range layer {
		if value == nil {
			delete(values, key)
			continue
		}
		inner, isMap := value.(map[string]interface{})
		existing, wasMap := values[key].(map[string]interface{})
		if isMap && wasMap {
			coalesce(existing, inner)
			continue
		}
		values[key] = value
	}
}

func checkSchema(chartDir string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewGoLoader(values))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if result.Valid() {
		return nil
	}
	problems := []string{}
	for _, problem := range result.Errors() {
		problems = append(problems, "- "+problem.String())
	}
	sort.Strings(problems)
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s",
		filepath.Base(chartDir), strings.Join(problems, "\n"))
}

// parseTemplates parses every file of templates/ into one set, each named
// <chart>/templates/<file>, with Helm's functions; the names in order.
func parseTemplates(chartDir, chartName string) ([]string, *template.Template, error) {
	root := template.New(chartName)
	root.Option("missingkey=zero")
	funcs := functions(root)
	root.Funcs(funcs)
	dir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	names := []string{}
	for _, entry := range entries {
		if entry.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			return nil, nil, err
		}
		name := chartName + "/templates/" + entry.Name()
		if _, err := root.New(name).Parse(string(data)); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, root, nil
}

func functions(root *template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = func(value interface{}) string {
		data, err := json.Marshal(value)
		if err != nil {
			return ""
		}
		return string(data)
	}
	funcs["fromJson"] = func(text string) map[string]interface{} {
		found := map[string]interface{}{}
		if err := json.Unmarshal([]byte(text), &found); err != nil {
			found["Error"] = err.Error()
		}
		return found
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return value, errors.New(message)
		}
		if text, ok := value.(string); ok && text == "" {
			return value, errors.New(message)
		}
		return value, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := parsed.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return funcs
}

// toYAML writes YAML as Helm's toYaml does (sigs.k8s.io/yaml: through JSON, so keys are
// sorted), without the final newline.
func toYAML(value interface{}) string {
	typed, err := asJSON(value)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	encoder := yaml.NewEncoder(&buf)
	encoder.SetIndent(2)
	if err := encoder.Encode(typed); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(text string) map[string]interface{} {
	found := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(text), &found); err != nil {
		found["Error"] = err.Error()
	}
	return found
}
