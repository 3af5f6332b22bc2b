{{- define "nodechart.labels" -}}
app.kubernetes.io/name: echo
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
