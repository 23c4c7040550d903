{{/* Names, labels and shared pieces of the ipsec-mesh chart's templates. */}}

{{- define "ipsec-mesh.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ipsec-mesh.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ipsec-mesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ipsec-mesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ipsec-mesh.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ipsec-mesh.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ipsec-mesh.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding SECRET_KEY, TEMPORAL_PAYLOAD_KEY, API_TOKEN and DATABASE_URL. */}}
{{- define "ipsec-mesh.secretName" -}}
{{- default (include "ipsec-mesh.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The listener /healthz is probed on: every replica has one whatever its roles. */}}
{{- define "ipsec-mesh.probePort" -}}
{{- $roles := splitList "," (.Values.roles | nospace) -}}
{{- if has "api" $roles -}}http{{- else if has "hub" $roles -}}agent{{- else -}}metrics{{- end -}}
{{- end -}}

{{- define "ipsec-mesh.agentPublicUrl" -}}
{{- if .Values.agentPublicUrl -}}
{{- .Values.agentPublicUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls))) (first .Values.ingress.hosts) -}}
{{- end -}}
{{- end -}}

{{- define "ipsec-mesh.allowedHosts" -}}
{{- if .Values.apiAllowedHosts -}}
{{- join "," .Values.apiAllowedHosts -}}
{{- else if .Values.ingress.enabled -}}
{{- join "," (concat .Values.ingress.hosts (list "localhost" "127.0.0.1")) -}}
{{- end -}}
{{- end -}}

{{/* The secret variables, from the chart's Secret or the existing one. */}}
{{- define "ipsec-mesh.secretEnv" -}}
{{- range $name := list "SECRET_KEY" "TEMPORAL_PAYLOAD_KEY" "API_TOKEN" "DATABASE_URL" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ipsec-mesh.secretName" $ }}
      key: {{ $name }}
{{- end }}
{{- end -}}

{{/* The volumes every controller container needs with a read-only root: DATA_DIR and /tmp. */}}
{{- define "ipsec-mesh.scratchVolumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "ipsec-mesh.scratchMounts" -}}
- name: data
  mountPath: /var/lib/ipsec-mesh
- name: tmp
  mountPath: /tmp
{{- end -}}
