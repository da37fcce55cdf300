{{/* The chart's name, overridable. */}}
{{- define "praxis-adapter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name: objects are <fullname>-ingress, <fullname>-worker, ... */}}
{{- define "praxis-adapter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "praxis-adapter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "praxis-adapter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: praxis-adapter
{{- end }}

{{/* Labels that select this release's pods (add app.kubernetes.io/component for one role). */}}
{{- define "praxis-adapter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "praxis-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The image reference: repository@digest, or repository:tag with a pinned tag. */}}
{{- define "praxis-adapter.image" -}}
{{- $img := .Values.image }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else if or (empty $img.tag) (eq (toString $img.tag) "latest") }}
{{- fail "image.tag: pin a release tag (not latest, not empty) or set image.digest" }}
{{- else }}
{{- printf "%s:%s" $img.repository (toString $img.tag) }}
{{- end }}
{{- end }}

{{/*
Environment shared by both roles: the admin listener, REDIS_URL and every
application's secret from the Secret, NATS credentials, GOMEMLIMIT, extraEnv.
Called with (dict "root" $ "resources" <the role's resources>).
*/}}
{{- define "praxis-adapter.env" -}}
{{- $root := .root }}
- name: PRAXIS_ADMIN_LISTEN
  value: {{ printf "0.0.0.0:%v" $root.Values.admin.port | quote }}
{{- if $root.Values.secret.redisURLKey }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "secret.name: name the Secret holding REDIS_URL and the merchant secrets" $root.Values.secret.name }}
      key: {{ $root.Values.secret.redisURLKey }}
{{- end }}
{{- range $i, $app := $root.Values.config.applications }}
{{- if $app.secret_env }}
- name: {{ $app.secret_env }}
  valueFrom:
    secretKeyRef:
      name: {{ required "secret.name: name the Secret holding the merchant secrets" $root.Values.secret.name }}
      key: {{ $app.secret_env }}
{{- else if not $app.secret_file }}
{{- fail (printf "config.applications[%d]: set secret_env (a key of the Secret secret.name) or secret_file (mounted with extraVolumes)" $i) }}
{{- end }}
{{- if $app.previous_secret_env }}
- name: {{ $app.previous_secret_env }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secret.name }}
      key: {{ $app.previous_secret_env }}
      optional: true
{{- end }}
{{- end }}
{{- if $root.Values.natsCreds.secretName }}
- name: NATS_CREDS
  value: /etc/praxis-adapter-nats/{{ $root.Values.natsCreds.key }}
{{- end }}
{{- if (.resources.limits).memory }}
# The Go runtime's soft memory limit follows the container limit.
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volume mounts shared by both roles. */}}
{{- define "praxis-adapter.volumeMounts" -}}
- name: config
  mountPath: /etc/praxis-adapter
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.natsCreds.secretName }}
- name: nats-creds
  mountPath: /etc/praxis-adapter-nats
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes shared by both roles. */}}
{{- define "praxis-adapter.volumes" -}}
- name: config
  configMap:
    name: {{ include "praxis-adapter.fullname" . }}-config
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- if .Values.natsCreds.secretName }}
- name: nats-creds
  secret:
    secretName: {{ .Values.natsCreds.secretName }}
    items:
      - key: {{ .Values.natsCreds.key }}
        path: {{ .Values.natsCreds.key }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Probes on the admin listener: startup and liveness on /healthz, readiness on /readyz. */}}
{{- define "praxis-adapter.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: admin}
  periodSeconds: 2
  failureThreshold: 30
# Ready = NATS connected, store answering, streams present, not draining.
readinessProbe:
  httpGet: {path: /readyz, port: admin}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
# Alive = the process serves HTTP; no dependency checks, so a NATS or
# Redis outage does not restart every pod.
livenessProbe:
  httpGet: {path: /healthz, port: admin}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}

{{/* Pod annotations: the config checksum (restart on change) and, without a ServiceMonitor, scrape annotations. */}}
{{- define "praxis-adapter.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.serviceMonitor.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.admin.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* topologySpreadConstraints over hostname and zone for one role. */}}
{{- define "praxis-adapter.topologySpread" -}}
{{- $root := .root }}
{{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
- maxSkew: 1
  topologyKey: {{ $key }}
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "praxis-adapter.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $.component }}
{{- end }}
{{- end }}
