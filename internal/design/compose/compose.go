// Package compose converts a Docker Compose file into a design: each
// service becomes a Deployment (and a Service when it has ports), named
// volumes PersistentVolumeClaims, configs ConfigMaps. What has no
// counterpart is listed in the design's report with the reason, never
// dropped silently. The file is read with the Compose specification's own
// library (compose-go); nothing else is read but config files under the
// Compose file's directory, and no environment variable of this process.
package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshperf/meshperf/internal/design"
)

// Limits on what a conversion reads.
const (
	MaxComposeBytes = 4 << 20 // the Compose file
	MaxConfigBytes  = 1 << 20 // each config file it names
	// DefaultVolumeSize is requested for each named volume: Compose
	// volumes have no size.
	DefaultVolumeSize = "1Gi"
)

// Options are a conversion's inputs besides the file.
type Options struct {
	// Name is the design's name and the Compose project's.
	Name string
	// Namespace is the design's namespace.
	Namespace string
	// Env holds the variables the file's ${VAR} take their values from;
	// this process's environment is never read.
	Env map[string]string
	// Inline says the file came without a directory (from an API caller):
	// no other file is read, so a config's file: is reported, not read.
	Inline bool
}

// inlineDir is the working directory of an inline Compose file: its
// relative paths resolve under it in the report, and nothing is read.
const inlineDir = "/inline"

// ConvertInline converts a Compose file given as data, reading no other
// file (Options.Inline).
func ConvertInline(ctx context.Context, data []byte, o Options) (*design.Design, error) {
	o.Inline = true
	return ConvertBytes(ctx, inlineDir+"/compose.yaml", data, o)
}

// Convert reads the Compose file at path (bounded) and converts it.
func Convert(ctx context.Context, path string, o Options) (*design.Design, error) {
	data, err := readBounded(path, MaxComposeBytes)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return ConvertBytes(ctx, abs, data, o)
}

// ConvertBytes converts the Compose file data, whose path is path (config
// files are found beside it).
func ConvertBytes(ctx context.Context, path string, data []byte, o Options) (*design.Design, error) {
	if len(data) > MaxComposeBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, len(data), MaxComposeBytes)
	}
	dir := filepath.Dir(path)
	p, err := load(ctx, path, data, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &converter{d: design.New(o.Name, o.Namespace), p: p, dir: dir, file: filepath.Base(path), inline: o.Inline}
	if err := c.convert(); err != nil {
		return nil, err
	}
	return c.d, nil
}

// load runs compose-go's loader. The loader asserts the types of some
// values before it checks them against the schema (a config's or secret's
// "target: null", an env_file's "path: 1") and panics on the wrong type; the
// file comes from outside (the API's imports), so such a panic is turned
// into an error rather than taking the caller down.
func load(ctx context.Context, path string, data []byte, o Options) (p *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("the Compose loader could not read the file (a value has the wrong type: %v)", r)
		}
	}()
	env := types.Mapping{}
	maps.Copy(env, o.Env)
	return loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: data}},
		Environment: env,
	}, func(lo *loader.Options) {
		lo.SetProjectName(o.Name, true)
		lo.SkipInclude = true
		lo.SkipExtends = true
		lo.SkipResolveEnvironment = true
		lo.SkipResolveLabels = true
		lo.ResolvePaths = true
	})
}

type converter struct {
	d      *design.Design
	p      *types.Project
	dir    string
	file   string
	inline bool
}

func (c *converter) note(source, field, reason string) {
	c.d.Report = append(c.d.Report, design.Note{Source: source, Field: field, Reason: reason})
}

func (c *converter) add(source string, obj map[string]any) error {
	return c.d.Add(design.Resource{Source: c.file + ": " + source, Object: obj})
}

func (c *converter) convert() error {
	// Project-level elements first: what services mount must exist.
	for _, name := range slices.Sorted(maps.Keys(c.p.Volumes)) {
		if err := c.volume(name, c.p.Volumes[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.p.Configs)) {
		if err := c.config(name, c.p.Configs[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.p.Secrets)) {
		c.note("secret "+name, "", "not converted: a design is stored and exported as it is, so a secret's value does not go in it; create a Secret in the cluster and mount it")
	}
	for _, name := range slices.Sorted(maps.Keys(c.p.Networks)) {
		if n := c.p.Networks[name]; name != "default" || n.Driver != "" || bool(n.External) || n.Internal {
			c.note("network "+name, "", "not converted: every pod of a namespace reaches every other; separate networks would be NetworkPolicies, which are not generated")
		}
	}
	if len(c.p.Models) > 0 {
		c.note("models", "", "not converted: Compose models have no Kubernetes counterpart")
	}
	if len(c.p.Jobs) > 0 {
		c.note("jobs", "", "not converted: Compose jobs are not converted (only services)")
	}
	for _, name := range slices.Sorted(maps.Keys(c.p.Services)) {
		if err := c.service(c.p.Services[name]); err != nil {
			return err
		}
	}
	if len(c.p.DisabledServices) > 0 {
		c.note("services "+strings.Join(slices.Sorted(maps.Keys(c.p.DisabledServices)), ", "), "profiles", "not converted: in profiles that are not enabled")
	}
	return nil
}

// k8sName turns a Compose name into a Kubernetes object name.
func k8sName(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("_", "-", ".", "-").Replace(s)
	s = strings.Trim(s, "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func (c *converter) volume(name string, v types.VolumeConfig) error {
	src := "volume " + name
	if bool(v.External) {
		c.note(src, "external", "not converted: an external volume is one that exists already; create a PersistentVolumeClaim named "+k8sName(name))
		return nil
	}
	if v.Driver != "" && v.Driver != "local" || len(v.DriverOpts) > 0 {
		c.note(src, "driver", "not converted: Kubernetes chooses storage by StorageClass, not by Docker volume driver; the claim uses the cluster's default class")
	}
	c.note(src, "size", "Compose volumes have no size: the claim requests "+DefaultVolumeSize)
	return c.add(src, map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": k8sName(name), "labels": c.labels(name)},
		"spec": map[string]any{
			"accessModes": []any{"ReadWriteOnce"},
			"resources":   map[string]any{"requests": map[string]any{"storage": DefaultVolumeSize}},
		},
	})
}

func (c *converter) config(name string, cfg types.ConfigObjConfig) error {
	src := "config " + name
	var content string
	switch {
	case bool(cfg.External):
		c.note(src, "external", "not converted: an external config exists already; create a ConfigMap named "+k8sName(name))
		return nil
	case cfg.Content != "":
		content = cfg.Content
	case cfg.Environment != "":
		c.note(src, "environment", "not converted: its value would come from this machine's environment, which an import does not read")
		return nil
	case cfg.File != "":
		b, err := c.readBeside(cfg.File)
		if err != nil {
			c.note(src, "file", "not converted: "+err.Error())
			return nil
		}
		content = string(b)
	default:
		c.note(src, "", "not converted: it has no content")
		return nil
	}
	return c.add(src, map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": k8sName(name), "labels": c.labels(name)},
		"data":     map[string]any{"content": content},
	})
}

// readBeside reads a file named by the Compose file, only if it is a
// regular file under the Compose file's directory.
func (c *converter) readBeside(name string) ([]byte, error) {
	if c.inline {
		return nil, fmt.Errorf("the file %s is not read: the Compose file came without its directory (give the config's content: inline)", name)
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.dir, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.EvalSymlinks(c.dir)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(dir, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%s is outside the Compose file's directory %s; only files under it are read", name, c.dir)
	}
	return readBounded(real, MaxConfigBytes)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", path, st.Size(), limit)
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && n != len(b) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b[:n], nil
}

func (c *converter) labels(name string) map[string]any {
	return map[string]any{
		"app.kubernetes.io/name":       k8sName(name),
		"app.kubernetes.io/part-of":    k8sName(c.p.Name),
		"app.kubernetes.io/managed-by": "meshperf",
	}
}

// converted are the service fields the conversion maps (or reports
// itself); any other field that is set is reported as not converted.
var converted = map[string]bool{
	"image": true, "command": true, "entrypoint": true, "environment": true, "ports": true,
	"expose": true, "working_dir": true, "deploy": true, "scale": true, "volumes": true,
	"configs": true, "healthcheck": true, "tty": true, "stdin_open": true, "user": true,
	"pull_policy": true, "restart": true, "stop_grace_period": true, "networks": true,
	"read_only": true, "cap_add": true, "cap_drop": true, "privileged": true, "depends_on": true,
	"hostname": true, "build": true, "env_file": true, "secrets": true, "container_name": true,
}

// reasons explain why common fields are not converted.
var reasons = map[string]string{
	"links":          "Kubernetes has no links: services reach each other by Service name",
	"external_links": "Kubernetes has no links",
	"network_mode":   "a pod has its own network namespace; sharing another container's or the host's is not converted",
	"devices":        "host devices are not passed to pods (a device plugin would be needed)",
	"ulimits":        "Kubernetes sets no per-container ulimits",
	"sysctls":        "sysctls need the cluster to allow them (kubelet --allowed-unsafe-sysctls); not converted",
	"extra_hosts":    "not converted (a pod's hostAliases could hold them)",
	"dns":            "not converted: pods use the cluster's DNS",
	"dns_search":     "not converted: pods use the cluster's DNS",
	"labels":         "Docker labels are not converted (Kubernetes labels follow other rules)",
	"logging":        "logging drivers are the node's business in Kubernetes",
	"pid":            "sharing the host's or another container's PID namespace is not converted",
	"ipc":            "sharing IPC namespaces is not converted",
	"security_opt":   "not converted: use the pod's securityContext",
	"cgroup_parent":  "cgroups are the kubelet's",
	"shm_size":       "not converted (an emptyDir of medium Memory at /dev/shm would do it)",
	"init":           "Kubernetes has no init process option",
	"platform":       "not converted: a nodeSelector on kubernetes.io/arch would choose the platform",
	"gpus":           "GPUs need a device plugin and resource requests; not converted",
	"tmpfs":          "not converted (an emptyDir of medium Memory would do it)",
	"stop_signal":    "Kubernetes always sends SIGTERM",
	"mem_limit":      "not converted: use deploy.resources.limits.memory",
	"cpus":           "not converted: use deploy.resources.limits.cpus",
	"profiles":       "profiles choose services at conversion; the service is converted",
	"develop":        "Compose Watch has no Kubernetes counterpart",
	"post_start":     "not converted: Kubernetes lifecycle hooks run in the container, not as separate commands",
	"pre_stop":       "not converted: Kubernetes lifecycle hooks run in the container, not as separate commands",
	"label_file":     "not read: only the Compose file is read",
	"annotations":    "not converted",
	"volumes_from":   "not converted: pods share volumes by declaring them",
}

func (c *converter) service(s types.ServiceConfig) error {
	name := k8sName(s.Name)
	src := "service " + s.Name
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		c.note(src, "", fmt.Sprintf("not converted: its name makes no Kubernetes name (%s)", strings.Join(msgs, "; ")))
		return nil
	}
	if name != s.Name {
		c.note(src, "name", "renamed "+name+": Kubernetes names are lower case letters, digits and '-'")
	}
	if s.Image == "" {
		c.note(src, "build", "not converted: the service has no image, only a build; build and push the image, then set image:")
		return nil
	}
	c.reportUnconverted(src, s)

	ctr := map[string]any{"name": name, "image": s.Image}
	if len(s.Entrypoint) > 0 {
		ctr["command"] = strs(s.Entrypoint)
	}
	if len(s.Command) > 0 {
		ctr["args"] = strs(s.Command)
	}
	if s.WorkingDir != "" {
		ctr["workingDir"] = s.WorkingDir
	}
	if s.Tty {
		ctr["tty"] = true
	}
	if s.StdinOpen {
		ctr["stdin"] = true
	}
	var env []any
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		v := s.Environment[k]
		if v == nil {
			c.note(src, "environment "+k, "not converted: no value in the file (Compose would take it from this machine's environment, which an import does not read)")
			continue
		}
		env = append(env, map[string]any{"name": k, "value": *v})
	}
	if len(env) > 0 {
		ctr["env"] = env
	}
	for _, f := range s.EnvFiles {
		c.note(src, "env_file "+f.Path, "not read: only the Compose file is read; put the variables under environment:")
	}
	if len(s.Secrets) > 0 {
		c.note(src, "secrets", "not converted: see the project's secrets")
	}
	if s.ContainerName != "" {
		c.note(src, "container_name", "not converted: Kubernetes names pods itself; the service is reached by its Service name "+name)
	}
	if s.Hostname != "" {
		c.note(src, "hostname", "not converted: a pod's hostname is its own name")
	}
	if len(s.DependsOn) > 0 {
		var deps []string
		for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
			deps = append(deps, d+" ("+s.DependsOn[d].Condition+")")
		}
		c.note(src, "depends_on", "not converted: Kubernetes starts pods in no order; "+strings.Join(deps, ", ")+" must be waited for by the service itself (or an init container)")
	}
	if s.Build != nil {
		c.note(src, "build", "not converted: the image "+s.Image+" is used as it is")
	}
	switch s.Restart {
	case "", "always", "unless-stopped":
	default:
		c.note(src, "restart", "restart: "+s.Restart+" not converted: a Deployment's pods always restart")
	}
	var ports, svcPorts []any
	seen := map[string]bool{}
	addPort := func(target uint32, published, proto, pname string) {
		if proto == "" {
			proto = "tcp"
		}
		k := fmt.Sprint(target, proto)
		if !seen[k] {
			seen[k] = true
			ports = append(ports, map[string]any{"containerPort": int64(target), "protocol": strings.ToUpper(proto)})
		}
		port := int64(target)
		if published != "" {
			if n, err := strconv.ParseUint(published, 10, 16); err == nil && n > 0 {
				port = int64(n)
			} else {
				c.note(src, "ports "+published, "published range or non-number not converted: the Service listens on the target port")
			}
		}
		sp := map[string]any{"name": fmt.Sprintf("%s-%d", strings.ToLower(proto), port), "port": port, "targetPort": int64(target), "protocol": strings.ToUpper(proto)}
		if pname != "" {
			sp["name"] = k8sName(pname)
		}
		for _, e := range svcPorts {
			if e.(map[string]any)["name"] == sp["name"] {
				return
			}
		}
		svcPorts = append(svcPorts, sp)
	}
	for _, p := range s.Ports {
		if p.HostIP != "" {
			c.note(src, "ports host_ip", "not converted: a Service is reached on the cluster's network, not a host address")
		}
		if p.Mode == "host" {
			c.note(src, "ports mode: host", "not converted: the port is published through a ClusterIP Service, not on the node")
		}
		addPort(p.Target, p.Published, p.Protocol, p.Name)
	}
	for _, e := range s.Expose {
		n, proto, _ := strings.Cut(e, "/")
		t, err := strconv.ParseUint(n, 10, 16)
		if err != nil || t == 0 {
			c.note(src, "expose "+e, "not converted: not a single port")
			continue
		}
		addPort(uint32(t), "", proto, "")
	}
	if len(ports) > 0 {
		ctr["ports"] = ports
	}
	if r := resources(s, func(f, why string) { c.note(src, f, why) }); len(r) > 0 {
		ctr["resources"] = r
	}
	if probe := c.probe(src, s.HealthCheck); probe != nil {
		ctr["readinessProbe"] = probe
	}
	switch s.PullPolicy {
	case "":
	case "always":
		ctr["imagePullPolicy"] = "Always"
	case "never":
		ctr["imagePullPolicy"] = "Never"
	case "missing", "if_not_present":
		ctr["imagePullPolicy"] = "IfNotPresent"
	default:
		c.note(src, "pull_policy", s.PullPolicy+" not converted")
	}
	sc := map[string]any{}
	if s.User != "" {
		if uid, err := strconv.ParseInt(strings.Split(s.User, ":")[0], 10, 64); err == nil {
			sc["runAsUser"] = uid
		} else {
			c.note(src, "user", "user "+s.User+" not converted: Kubernetes takes a numeric user ID")
		}
	}
	if s.ReadOnly {
		sc["readOnlyRootFilesystem"] = true
	}
	if s.Privileged {
		sc["privileged"] = true
	}
	if len(s.CapAdd) > 0 || len(s.CapDrop) > 0 {
		caps := map[string]any{}
		if len(s.CapAdd) > 0 {
			caps["add"] = strs(s.CapAdd)
		}
		if len(s.CapDrop) > 0 {
			caps["drop"] = strs(s.CapDrop)
		}
		sc["capabilities"] = caps
	}
	if len(sc) > 0 {
		ctr["securityContext"] = sc
	}
	for n := range s.Networks {
		if n != "default" {
			c.note(src, "networks "+n, "not converted: see the project's networks")
		}
	}

	var volumes, mounts []any
	for i, v := range s.Volumes {
		vname := fmt.Sprintf("vol-%d", i)
		switch v.Type {
		case types.VolumeTypeVolume:
			if v.Source == "" {
				volumes = append(volumes, map[string]any{"name": vname, "emptyDir": map[string]any{}})
				c.note(src, "volumes "+v.Target, "an anonymous volume: converted to an emptyDir, which is lost with the pod")
			} else if vc, ok := c.p.Volumes[v.Source]; ok && !bool(vc.External) {
				volumes = append(volumes, map[string]any{"name": vname, "persistentVolumeClaim": map[string]any{"claimName": k8sName(v.Source)}})
			} else {
				c.note(src, "volumes "+v.Source, "not converted: the volume is external or undeclared")
				continue
			}
		case types.VolumeTypeTmpfs:
			volumes = append(volumes, map[string]any{"name": vname, "emptyDir": map[string]any{"medium": "Memory"}})
		default:
			c.note(src, "volumes "+v.Source+":"+v.Target, "not converted: a "+v.Type+" mount of this machine's files has no counterpart on a cluster's nodes; put the files in a config or an image")
			continue
		}
		m := map[string]any{"name": vname, "mountPath": v.Target}
		if v.ReadOnly {
			m["readOnly"] = true
		}
		mounts = append(mounts, m)
	}
	for i, cf := range s.Configs {
		cfg, ok := c.p.Configs[cf.Source]
		if !ok || bool(cfg.External) || (cfg.Content == "" && cfg.File == "") {
			c.note(src, "configs "+cf.Source, "not mounted: the config was not converted")
			continue
		}
		target := cf.Target
		if target == "" {
			target = "/" + cf.Source
		}
		vname := fmt.Sprintf("cfg-%d", i)
		volumes = append(volumes, map[string]any{"name": vname, "configMap": map[string]any{"name": k8sName(cf.Source)}})
		mounts = append(mounts, map[string]any{"name": vname, "mountPath": target, "subPath": "content", "readOnly": true})
	}
	if len(mounts) > 0 {
		ctr["volumeMounts"] = mounts
	}

	replicas := int64(1)
	if s.Scale != nil {
		replicas = int64(*s.Scale)
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		replicas = int64(*s.Deploy.Replicas)
	}
	if s.Deploy != nil && s.Deploy.Mode == "global" {
		c.note(src, "deploy.mode", "global not converted: a Deployment with one replica (a DaemonSet would run one per node)")
	}
	sel := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": k8sName(c.p.Name)}
	pod := map[string]any{"containers": []any{ctr}}
	if len(volumes) > 0 {
		pod["volumes"] = volumes
	}
	if s.StopGracePeriod != nil {
		pod["terminationGracePeriodSeconds"] = int64(time.Duration(*s.StopGracePeriod).Seconds())
	}
	err := c.add(src, map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "labels": c.labels(s.Name)},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": sel},
			"template": map[string]any{
				"metadata": map[string]any{"labels": copyMap(sel)},
				"spec":     pod,
			},
		},
	})
	if err != nil || len(svcPorts) == 0 {
		return err
	}
	return c.add(src, map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "labels": c.labels(s.Name)},
		"spec":     map[string]any{"selector": copyMap(sel), "ports": svcPorts},
	})
}

// reportUnconverted notes every field set on the service that the
// conversion does not map, by its Compose name.
func (c *converter) reportUnconverted(src string, s types.ServiceConfig) {
	b, err := json.Marshal(s)
	if err != nil {
		c.note(src, "", "could not list its fields: "+err.Error())
		return
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.note(src, "", "could not list its fields: "+err.Error())
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if converted[k] || empty(m[k]) {
			continue
		}
		why, ok := reasons[k]
		if !ok {
			why = "Kubernetes has no counterpart meshperf converts it to"
		}
		c.note(src, k, "not converted: "+why)
	}
	for k := range s.Extensions {
		c.note(src, k, "not converted: an extension field")
	}
}

func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case bool:
		return !t
	case float64:
		return t == 0
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func resources(s types.ServiceConfig, note func(field, why string)) map[string]any {
	if s.Deploy == nil {
		return nil
	}
	out := map[string]any{}
	for _, x := range []struct {
		key string
		r   *types.Resource
	}{{"limits", s.Deploy.Resources.Limits}, {"requests", s.Deploy.Resources.Reservations}} {
		if x.r == nil {
			continue
		}
		m := map[string]any{}
		if x.r.NanoCPUs > 0 {
			m["cpu"] = fmt.Sprintf("%dm", int64(float64(x.r.NanoCPUs)*1000+0.5))
		}
		if x.r.MemoryBytes > 0 {
			m["memory"] = strconv.FormatInt(int64(x.r.MemoryBytes), 10)
		}
		if x.r.Pids > 0 {
			note("deploy.resources.pids", "not converted: pid limits are the kubelet's")
		}
		if len(x.r.Devices) > 0 || len(x.r.GenericResources) > 0 {
			note("deploy.resources devices", "not converted: devices need a device plugin")
		}
		if len(m) > 0 {
			out[x.key] = m
		}
	}
	if s.Deploy.Placement.Constraints != nil || s.Deploy.Placement.Preferences != nil {
		note("deploy.placement", "not converted: Swarm placement; use a nodeSelector or affinity")
	}
	if s.Deploy.UpdateConfig != nil || s.Deploy.RollbackConfig != nil || s.Deploy.RestartPolicy != nil {
		note("deploy update/rollback/restart policy", "not converted: a Deployment's rollout strategy is Kubernetes' default")
	}
	return out
}

func (c *converter) probe(src string, h *types.HealthCheckConfig) map[string]any {
	if h == nil || h.Disable || len(h.Test) == 0 {
		return nil
	}
	var cmd []any
	switch h.Test[0] {
	case "CMD":
		cmd = strs(h.Test[1:])
	case "CMD-SHELL":
		cmd = []any{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}
	case "NONE":
		return nil
	default:
		c.note(src, "healthcheck", "not converted: test "+h.Test[0])
		return nil
	}
	p := map[string]any{"exec": map[string]any{"command": cmd}}
	sec := func(d *types.Duration) int64 { return max(1, int64(time.Duration(*d).Seconds())) }
	if h.Interval != nil {
		p["periodSeconds"] = sec(h.Interval)
	}
	if h.Timeout != nil {
		p["timeoutSeconds"] = sec(h.Timeout)
	}
	if h.Retries != nil {
		p["failureThreshold"] = int64(*h.Retries)
	}
	if h.StartPeriod != nil {
		p["initialDelaySeconds"] = sec(h.StartPeriod)
	}
	c.note(src, "healthcheck", "converted to a readiness probe (the pod gets traffic once it passes; Compose only marks the container healthy)")
	return p
}

func strs(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func copyMap(m map[string]any) map[string]any { return maps.Clone(m) }
