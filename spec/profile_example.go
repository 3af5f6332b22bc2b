package spec

// ProfileExample returns a commented profile to start from: every field,
// each explained, aimed at http://127.0.0.1:8080/ where `meshperf echo`
// listens. It parses and validates cleanly as it is.
func ProfileExample() string { return profileExample }

const profileExample = `# A meshperf profile: a Service Mesh Performance (SMP) test configuration.
# Plain SMP tools read it too; they skip the "meshperf:" sections.
# Run it with: meshperf run -f profile.yaml   (start a target: meshperf echo)

smp_version: v0.0.1          # SMP schema version
name: echo baseline          # kept in results; names the profile when stored
# id: 5f0c...                # optional test id (uuid); left out, the store assigns one
labels:                      # free-form key: value pairs, kept in results
  team: platform
  env: local
duration: 30s                # measured time (Go duration: 30s, 5m, 1h30m), after warm-up

meshperf:                    # what SMP has no field for, for the whole test
  warmup: 5s                 # run this long first, outside the summary (whole seconds)
  # requests: 100000         # end after this many measured requests (duration may then be left out)
  slo:                       # objectives; a broken one makes the run exit with status 1
  - p99<=50ms                #   p50 ... p99.99, max, mean (service_ forms too): a duration
  - error_rate<0.1%          #   error_rate, late_ratio: a fraction or a percentage
  # - rps>=990               #   rps: achieved requests per second
  # mesh_type: 3             # the mesh under test (SMP enum: 3 ISTIO, 5 LINKERD, ...), kept in results
  # allow_unknown_fields: true  # run even with fields meshperf does not know (ignored); otherwise they are errors
  # designs: [{name: shop}]  # stored designs meshperf run applies to the kubeconfig's cluster before the run and deletes after (docs/designs.md)
# agents:                    # run every client on meshperf agents (meshperf server only; see docs/agents.md)
#   count: 3                 #   how many agents; each gets an equal share of rate and connections
#   selector: zone=a         #   only agents with these labels (key=value,...); with no count: all of them
#   on_drop: continue        #   an agent lost mid-run: continue (result marked degraded) or abort
# metrics:                   # Prometheus queries over each run's measured window, kept in the result (docs/experiments.md)
#   prometheus: http://127.0.0.1:9090  # the Prometheus HTTP API
#   step: 1s                 #   query resolution; left out: 1s, or coarser for long runs
#   cooldown: 2s             #   left out of the end of the window
#   queries:                 #   name: proxy_cpu_mcores and proxy_mem_mb fill the SMP export's sidecar figures
#   - {name: proxy_cpu_mcores, unit: mcores, query: 'sum(rate(process_cpu_seconds_total{job="proxy"}[5s]))*1000'}

clients:                     # one or more; each is its own group of load, and all run together
- load_generator: meshperf   # meshperf's own engine (fortio, wrk2, nighthawk: not yet)
  internal: false            # true would mean running inside the cluster (not yet)
  protocol: 1                # 1 HTTP, 2 TCP, 4 GRPC (3 UDP is not supported); "http" works too
  connections: 16            # concurrent connections; 0 or left out means 10
  rps: 1000                  # requests per second, intended send times kept (open loop);
                             # 0 means as fast as the connections allow (closed loop)
  endpoint_urls:             # targets, used in turn
  - http://127.0.0.1:8080/
  headers:                   # request headers
    user-agent: meshperf
    x-test: baseline
  cookies: {}                # request cookies, name: value
  body: ""                   # request body; a body makes the default method POST
  content_type: ""           # Content-Type of the body, e.g. application/json
  # ssl_certificate: |       # CA certificate (PEM text) that signed an https target's certificate
  #   -----BEGIN CERTIFICATE-----
  #   ...
  #   -----END CERTIFICATE-----
  additional_options: ""     # JSON text for other load generators; meshperf's engine ignores it
  meshperf:                  # what SMP has no field for, for this client
    rate_shape: constant     # constant (at rps), ramp:100-1000 or ramp:100-1000/30s (then hold),
                             # or steps:100/10s,500/10s,1000/10s (each rate for its time, then hold the last)
    http_version: "1.1"      # 1.1, 2 (HTTP/2 over TLS via ALPN) or h2c (HTTP/2 cleartext)
    method: GET              # default GET, or POST when there is a body
    streams: 1               # concurrent requests per HTTP/2 connection
    timeout: 30s             # time allowed for one request
    connect_timeout: 5s      # time allowed to connect, TLS handshake included
    insecure: false          # true skips verifying the server's certificate
    # cert_file: client.pem  # client certificate (PEM file) for mutual TLS; needs key_file
    # key_file: client.key   # its private key (PEM file)
    # cert_pem: "-----BEGIN CERTIFICATE-----..."  # or the client certificate inline (what a server takes
                             # when it reads no files: see --allow-files in docs/security.md)
    # key_pem: "-----BEGIN PRIVATE KEY-----..."   # and its key inline (stored with the profile: keep it private)
    # sni: echo.local        # TLS server name to send; default: the target's host
    tls_no_resumption: false # true makes every new connection a full TLS handshake; by default
                             # a reconnection resumes an earlier session (as Envoy's upstream connections do)
    resolution: auto         # how closely sends follow the schedule: auto, exact, or a window such as 200us
    # grpc_descriptor_set: echo.pb  # protocol GRPC: FileDescriptorSet of the method called
                             # (protoc --descriptor_set_out=echo.pb --include_imports); default: server reflection
    # grpc_descriptor_set_base64: CrYB...  # or that FileDescriptorSet inline, standard base64
    # tcp_expect_bytes: 64   # protocol TCP: a response is this many bytes (default: as many as sent)
    # tcp_delimiter: "\n"    # protocol TCP: or a response ends with these bytes (YAML escapes apply)
  # agents: {count: 2, selector: "zone=b"}  # this client on agents (overrides the top-level agents)
`
