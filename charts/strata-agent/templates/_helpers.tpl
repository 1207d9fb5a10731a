{{- define "strata-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "strata-agent.fullname" -}}
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

{{- define "strata-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strata-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "strata-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "strata-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: strata
{{- end }}

{{- define "strata-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "strata-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "strata-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where each credential Secret is mounted; the agent config names only these file paths. */}}
{{- define "strata-agent.sourceSecretDir" -}}
/var/run/secrets/strata/sources/{{ . }}
{{- end }}
{{- define "strata-agent.previewKeysDir" -}}
/var/run/strata/preview-keys/{{ . }}
{{- end }}
{{- define "strata-agent.previewServiceAccountName" -}}
{{- printf "%s-preview" (include "strata-agent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "strata-agent.hubSecretDir" -}}
/var/run/secrets/strata/hub
{{- end }}
{{- define "strata-agent.syncSecretDir" -}}
/var/run/secrets/strata/sync
{{- end }}
{{- define "strata-agent.caDir" -}}
/var/run/secrets/strata/ca
{{- end }}

{{/* Fails the render with a message naming the value, for what the JSON schema cannot express. */}}
{{- define "strata-agent.validate" -}}
{{- $seen := dict }}
{{- range $i, $s := .Values.sources }}
{{- if hasKey $seen $s.name }}
{{- fail (printf "sources[%d].name: %q is used by more than one source; source names must be unique" $i $s.name) }}
{{- end }}
{{- $_ := set $seen $s.name true }}
{{- $auth := default dict $s.auth }}
{{- if and (not $auth.existingSecret) (or $auth.passwordKey $auth.usernameKey) }}
{{- fail (printf "sources[%d].auth.existingSecret: required when passwordKey or usernameKey is set" $i) }}
{{- end }}
{{- if and $auth.usernameKey (not $auth.passwordKey) }}
{{- fail (printf "sources[%d].auth.passwordKey: required when usernameKey is set (basic auth needs a password)" $i) }}
{{- end }}
{{- if and $auth.username $auth.usernameKey }}
{{- fail (printf "sources[%d].auth: set username or usernameKey, not both" $i) }}
{{- end }}
{{- if and (or $auth.sshKeyKey $auth.knownHostsKey) (not (and $auth.sshKeyKey $auth.knownHostsKey $auth.existingSecret)) }}
{{- fail (printf "sources[%d].auth: SSH needs existingSecret, sshKeyKey and knownHostsKey (host keys are never accepted blindly)" $i) }}
{{- end }}
{{- end }}
{{- range $i, $s := .Values.sources }}
{{- $policy := default dict $s.previewPolicy }}
{{- $keys := default dict $policy.keys }}
{{- if and $keys.existingConfigMap (empty $keys.items) }}
{{- fail (printf "sources[%d].previewPolicy.keys.items: list the ConfigMap's keys that hold public keys" $i) }}
{{- end }}
{{- if eq (default "signed" $policy.trust) "everyone" }}
{{- if or $keys.existingConfigMap $policy.allowRefs }}
{{- fail (printf "sources[%d].previewPolicy: keys and allowRefs narrow trust: signed; with trust: everyone every ref is previewed" $i) }}
{{- end }}
{{- else if and $s.previewRefs (not $keys.existingConfigMap) (empty $policy.allowRefs) }}
{{- fail (printf "sources[%d].previewPolicy: previewRefs are dry-run only when their head is signed by a trusted key: set previewPolicy.keys.existingConfigMap (or allowRefs, or trust: everyone)" $i) }}
{{- end }}
{{- end }}
{{- if and .Values.previews.serviceAccount.create (not .Values.rbac.create) }}
{{- fail "previews.serviceAccount.create: needs rbac.create (the agent must be allowed to impersonate it)" }}
{{- end }}
{{- if and (eq .Values.rbac.scope "namespaced") .Values.rbac.create (empty .Values.rbac.namespaced.namespaces) }}
{{- fail "rbac.namespaced.namespaces: list at least one namespace the agent may manage when rbac.scope is namespaced" }}
{{- end }}
{{- if and (or .Values.hub.auth.existingSecret .Values.hub.ca.existingSecret) (not .Values.hub.url) }}
{{- fail "hub.url: required when hub.auth.existingSecret or hub.ca.existingSecret is set" }}
{{- end }}
{{- end }}

{{/* One source of the agent config (agent/src/config/schema.ts SourceConfig). */}}
{{- define "strata-agent.sourceConfig" -}}
{{- $source := dict "name" .name "url" .url }}
{{- range $key := list "ref" "path" "interval" "schedule" "timeout" "previewRefs" }}
{{- if index $ $key }}{{- $_ := set $source $key (index $ $key) }}{{- end }}
{{- end }}
{{- if .previewRefs }}
{{- $policy := default dict .previewPolicy }}
{{- $keys := default dict $policy.keys }}
{{- $out := dict "trust" (default "signed" $policy.trust) }}
{{- if $policy.allowRefs }}{{- $_ := set $out "allowRefs" $policy.allowRefs }}{{- end }}
{{- if $policy.openWhile }}{{- $_ := set $out "openWhile" $policy.openWhile }}{{- end }}
{{- if $policy.maxAge }}{{- $_ := set $out "maxAge" $policy.maxAge }}{{- end }}
{{- if $keys.existingConfigMap }}
{{- $files := list }}
{{- $dir := include "strata-agent.previewKeysDir" .name }}
{{- range $keys.items }}{{- $files = append $files (printf "%s/%s" $dir .) }}{{- end }}
{{- $_ := set $out "keys" $files }}
{{- end }}
{{- $_ := set $source "previewPolicy" $out }}
{{- end }}
{{- $auth := default dict .auth }}
{{- if $auth.existingSecret }}
{{- $dir := include "strata-agent.sourceSecretDir" .name }}
{{- if $auth.sshKeyKey }}
{{- $_ := set $source "auth" (dict "sshKeyFile" (printf "%s/%s" $dir $auth.sshKeyKey) "knownHostsFile" (printf "%s/%s" $dir $auth.knownHostsKey)) }}
{{- else if $auth.passwordKey }}
{{- $basic := dict "passwordFile" (printf "%s/%s" $dir $auth.passwordKey) }}
{{- if $auth.usernameKey }}{{- $_ := set $basic "usernameFile" (printf "%s/%s" $dir $auth.usernameKey) }}{{- end }}
{{- if $auth.username }}{{- $_ := set $basic "username" $auth.username }}{{- end }}
{{- $_ := set $source "auth" $basic }}
{{- else }}
{{- $_ := set $source "auth" (dict "tokenFile" (printf "%s/%s" $dir $auth.tokenKey)) }}
{{- end }}
{{- end }}
{{- toJson $source }}
{{- end }}

{{/* The agent's configuration file, in the format of agent/src/config/schema.ts, built from the values. */}}
{{- define "strata-agent.config" -}}
{{- $sources := list }}
{{- range .Values.sources }}
{{- $sources = append $sources (include "strata-agent.sourceConfig" . | fromJson) }}
{{- end }}
{{- $config := dict "cluster" (dict "name" .Values.cluster.name "labels" (default dict .Values.cluster.labels)) "sources" $sources }}
{{- if .Values.hub.url }}
{{- $hub := dict "url" .Values.hub.url }}
{{- if .Values.hub.timeout }}{{- $_ := set $hub "timeout" .Values.hub.timeout }}{{- end }}
{{- if .Values.hub.auth.existingSecret }}
{{- $_ := set $hub "tokenFile" (printf "%s/%s" (include "strata-agent.hubSecretDir" .) .Values.hub.auth.tokenKey) }}
{{- end }}
{{- if .Values.hub.ca.existingSecret }}
{{- $_ := set $hub "caFile" (printf "%s/%s" (include "strata-agent.caDir" .) .Values.hub.ca.key) }}
{{- end }}
{{- $_ := set $config "hub" $hub }}
{{- end }}
{{- /* The agent keeps each source's ApplySet parent Secret in its own namespace. */}}
{{- $kube := dict "inCluster" true "namespace" .Release.Namespace }}
{{- if .Values.previews.serviceAccount.create }}
{{- $_ := set $kube "previewServiceAccount" (printf "%s/%s" .Release.Namespace (include "strata-agent.previewServiceAccountName" .)) }}
{{- end }}
{{- $_ := set $config "kube" $kube }}
{{- $_ := set $config "drift" (dict "policy" .Values.drift.policy "interval" .Values.drift.interval) }}
{{- $_ := set $config "prune" (dict "enabled" .Values.prune.enabled "maxFraction" .Values.prune.maxFraction "allow" .Values.prune.allow) }}
{{- with .Values.outbox }}{{- $_ := set $config "outbox" . }}{{- end }}
{{- $_ := set $config "stateDir" "/var/lib/strata" }}
{{- $_ := set $config "listen" (printf "0.0.0.0:%d" (int .Values.listenPort)) }}
{{- if .Values.syncAuth.existingSecret }}
{{- $_ := set $config "syncTokenFile" (printf "%s/%s" (include "strata-agent.syncSecretDir" .) .Values.syncAuth.tokenKey) }}
{{- end }}
{{- $_ := set $config "log" (dict "level" .Values.logLevel) }}
{{- toYaml $config }}
{{- end }}
