{{/* The chart name, or nameOverride. */}}
{{- define "model-booster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else "<release>-<chart>", else the release name when it
already contains the chart name. Also the name of the cluster-scoped ClusterRole and ClusterRoleBinding.
*/}}
{{- define "model-booster.fullname" -}}
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

{{- define "model-booster.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "model-booster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-booster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "model-booster.labels" -}}
helm.sh/chart: {{ include "model-booster.chart" . }}
{{ include "model-booster.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "model-booster.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "model-booster.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "model-booster.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Cross-field checks the schema cannot express. */}}
{{- define "model-booster.validate" -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.operator.shutdownTimeoutSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed operator.shutdownTimeoutSeconds (%v): the operator needs the time to finish running passes and release its Lease" .Values.terminationGracePeriodSeconds .Values.operator.shutdownTimeoutSeconds) }}
{{- end }}
{{- end }}
