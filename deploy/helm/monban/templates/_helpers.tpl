{{/* Name of the release's objects. */}}
{{- define "monban.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "monban.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select the provider's pods. */}}
{{- define "monban.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Secret holding MONBAN_DATABASE_URL and MONBAN_SECRETS. */}}
{{- define "monban.secretName" -}}
{{- default (include "monban.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The container image. */}}
{{- define "monban.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Environment shared by the provider and the migration Job. */}}
{{- define "monban.env" -}}
- name: MONBAN_ISSUER
  value: {{ .Values.issuer | quote }}
- name: MONBAN_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "monban.secretName" . }}
      key: MONBAN_DATABASE_URL
- name: MONBAN_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ include "monban.secretName" . }}
      key: MONBAN_SECRETS
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
