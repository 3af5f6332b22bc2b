package native

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/meshperf/meshperf/loadgen"
)

// descriptorSource finds the methods of a run's gRPC targets: in the plan's
// descriptor set, or else by asking the server (reflection), once per
// service.
type descriptorSource struct {
	files *protoregistry.Files // from the descriptor set, or nil
	// reflection, when there is no descriptor set
	ctx                  context.Context
	plan                 *loadgen.Plan
	raw, addr, host, ver string
	useTLS               bool
	seen                 map[string]*protoregistry.Files // by service
}

func newDescriptorSource(ctx context.Context, p *loadgen.Plan, raw, addr string, useTLS bool, host, version string) (*descriptorSource, error) {
	d := &descriptorSource{ctx: ctx, plan: p, raw: raw, addr: addr, host: host, ver: version, useTLS: useTLS, seen: map[string]*protoregistry.Files{}}
	var files *protoregistry.Files
	var err error
	switch {
	case len(p.GRPC.DescriptorSetBytes) > 0:
		files, err = parseDescriptorSet("(inline)", p.GRPC.DescriptorSetBytes)
	case p.GRPC.DescriptorSet != "":
		files, err = loadDescriptorSet(p.GRPC.DescriptorSet)
	default:
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.files = files
	return d, nil
}

// loadDescriptorSet reads a FileDescriptorSet file.
func loadDescriptorSet(path string) (*protoregistry.Files, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("proto descriptor: %w", err)
	}
	return parseDescriptorSet(path, b)
}

// parseDescriptorSet reads a FileDescriptorSet; name says where it came
// from.
func parseDescriptorSet(path string, b []byte) (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("proto descriptor %s: not a FileDescriptorSet (make one with protoc --descriptor_set_out=FILE --include_imports): %v", path, err)
	}
	if len(set.File) == 0 {
		return nil, fmt.Errorf("proto descriptor %s: the set holds no file", path)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("proto descriptor %s: %v (was it made with --include_imports?)", path, err)
	}
	return files, nil
}

// target resolves method (/package.Service/Method) and encodes body, JSON,
// as its request.
func (d *descriptorSource) target(method string, body []byte) (grpcTarget, error) {
	svcName, mName, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	files := d.files
	where := "in the proto descriptor " + cmp.Or(d.plan.GRPC.DescriptorSet, "given inline")
	if files == nil {
		where = "by server reflection"
		var err error
		if files, err = d.reflect(svcName); err != nil {
			return grpcTarget{}, err
		}
	}
	desc, err := files.FindDescriptorByName(protoreflect.FullName(svcName))
	if err != nil {
		return grpcTarget{}, fmt.Errorf("service %s not found %s", svcName, where)
	}
	svc, ok := desc.(protoreflect.ServiceDescriptor)
	if !ok {
		return grpcTarget{}, fmt.Errorf("%s is not a service (found %s)", svcName, where)
	}
	md := svc.Methods().ByName(protoreflect.Name(mName))
	if md == nil {
		var names []string
		for i := 0; i < svc.Methods().Len(); i++ {
			names = append(names, string(svc.Methods().Get(i).Name()))
		}
		return grpcTarget{}, fmt.Errorf("service %s has no method %s (it has %s)", svcName, mName, strings.Join(names, ", "))
	}
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return grpcTarget{}, fmt.Errorf("method %s/%s streams; only unary methods can be called", svcName, mName)
	}
	req := dynamicpb.NewMessage(md.Input())
	if len(body) > 0 {
		if err := unmarshalJSON(body, req); err != nil {
			return grpcTarget{}, err
		}
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return grpcTarget{}, fmt.Errorf("body: %w", err)
	}
	return grpcTarget{method: "/" + svcName + "/" + mName, req: b}, nil
}

// unmarshalJSON reads body into m, naming the message on error.
func unmarshalJSON(body []byte, m proto.Message) error {
	if err := protojson.Unmarshal(body, m); err != nil {
		return fmt.Errorf("body: not a valid %s in JSON: %v", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// reflect asks the server for the files that define service.
func (d *descriptorSource) reflect(service string) (*protoregistry.Files, error) {
	if f, ok := d.seen[service]; ok {
		return f, nil
	}
	p := d.plan
	opts, err := channelOptions(p, d.useTLS, d.host, "", d.ver, nil)
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient("passthrough:///"+d.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("server reflection on %s: %w", d.addr, err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(d.ctx, p.ConnectTimeout+p.Timeout)
	defer cancel()
	files, err := reflectFiles(ctx, cc, service)
	if err != nil {
		return nil, fmt.Errorf("server reflection on %s: %w (give a descriptor set with --proto-descriptor)", d.addr, err)
	}
	d.seen[service] = files
	return files, nil
}

// reflectFiles fetches the file that declares symbol and every file it
// imports, over one reflection stream.
func reflectFiles(ctx context.Context, cc *grpc.ClientConn, symbol string) (*protoregistry.Files, error) {
	stream, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	got := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *rpb.ServerReflectionRequest) error {
		if err := stream.Send(req); err != nil {
			return err
		}
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if e := resp.GetErrorResponse(); e != nil {
			return errors.New(e.GetErrorMessage())
		}
		fds := resp.GetFileDescriptorResponse()
		if fds == nil {
			return fmt.Errorf("unexpected answer %T", resp.GetMessageResponse())
		}
		for _, raw := range fds.GetFileDescriptorProto() {
			var fd descriptorpb.FileDescriptorProto
			if err := proto.Unmarshal(raw, &fd); err != nil {
				return fmt.Errorf("bad file descriptor: %v", err)
			}
			got[fd.GetName()] = &fd
		}
		return nil
	}
	if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}); err != nil {
		return nil, fmt.Errorf("service %s: %w", symbol, err)
	}
	// Servers usually send the imports along; ask for any they left out.
	for range 1000 {
		var missing string
		for _, fd := range got {
			for _, dep := range fd.GetDependency() {
				if got[dep] == nil {
					missing = dep
				}
			}
		}
		if missing == "" {
			break
		}
		if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: missing}}); err != nil {
			return nil, fmt.Errorf("file %s: %w", missing, err)
		}
		if got[missing] == nil {
			return nil, fmt.Errorf("file %s: not sent", missing)
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range got {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("service %s: %v", symbol, err)
	}
	return files, nil
}
