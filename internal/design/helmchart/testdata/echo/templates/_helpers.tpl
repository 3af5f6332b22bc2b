{{- define "echo.name" -}}{{ .Release.Name }}-echo{{- end -}}
