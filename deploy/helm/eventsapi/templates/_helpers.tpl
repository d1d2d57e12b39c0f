{{/* The chart's name, or nameOverride. */}}
{{- define "eventsapi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: the release's, or <release>-<chart> when it does not contain the chart's. */}}
{{- define "eventsapi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* What selects the release's pods. */}}
{{- define "eventsapi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eventsapi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Every object's labels. */}}
{{- define "eventsapi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "eventsapi.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* A setting's value as its environment variable's text: lists joined with commas, and
     whole numbers without the exponent Helm's float64 would print (1.048576e+06). */}}
{{- define "eventsapi.settingValue" -}}
{{- if kindIs "slice" . }}
{{- join "," . }}
{{- else if and (kindIs "float64" .) (eq (floor .) .) }}
{{- int64 . }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/* SQLite: one pod at a time on one volume. */}}
{{- define "eventsapi.sqlite" -}}
{{- if eq .Values.storage.type "sqlite" }}true{{ end }}
{{- end }}
