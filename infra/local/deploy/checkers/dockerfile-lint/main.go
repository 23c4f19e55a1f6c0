// Command dockerfile-lint runs BuildKit's Dockerfile checks, the ones `docker build --check`
// runs, on one Dockerfile without a BuildKit daemon.
//
//	dockerfile-lint Dockerfile
//
// Exits 0 when there is nothing to report; 1 with each warning (or the parse error) on stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// offlineImages answers every base image lookup with an empty linux image config: the checks
// then run without a registry, and only the ones about the base image's platform have nothing to compare.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	platform := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		platform = *opt.ImageOpt.Platform
	}
	config, err := json.Marshal(ocispecs.Image{
		Platform: platform,
		RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}},
	})
	return ref, "", config, err
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: dockerfile-lint DOCKERFILE")
	}
	file := os.Args[1]
	data, err := os.ReadFile(file)
	if err != nil {
		fail(err.Error())
	}
	ctx := context.Background()
	// The findings point into the Dockerfile through a source map, which needs a definition of where it came from.
	source := llb.Local("dockerfile")
	definition, err := source.Marshal(ctx)
	if err != nil {
		fail(err.Error())
	}
	sourceMap := llb.NewSourceMap(&source, file, "Dockerfile", data)
	sourceMap.Definition = definition
	results, err := dockerfile2llb.DockerfileLint(ctx, data, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		MetaResolver: offlineImages{},
		SourceMap:    sourceMap,
	})
	if err != nil {
		fail(err.Error())
	}
	if results.Error != nil {
		results.PrintErrorTo(os.Stderr, nil)
	}
	if err := results.PrintTo(os.Stderr, nil); err != nil {
		fail(err.Error())
	}
	if len(results.Warnings) > 0 {
		fmt.Fprintf(os.Stderr, "%s: %d warning(s)\n", file, len(results.Warnings))
	}
	if results.Error != nil || len(results.Warnings) > 0 {
		os.Exit(1)
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
