// Command compose-config prints a compose file resolved the way `docker compose config` resolves
// it, with the same library, so the compose file can be checked on a machine without Docker.
//
//	compose-config --file docker-compose.yaml
//
// An invalid file exits 1 with the loader's error on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	var files multiFlag
	flag.Var(&files, "file", "compose file (repeatable, later files override earlier ones)")
	flag.Parse()
	if len(files) == 0 || flag.NArg() > 0 {
		fail("usage: compose-config --file FILE [--file FILE ...]")
	}
	// The option order of docker compose's own project loader: the OS environment wins over .env,
	// and the project directory is that of the first file.
	options, err := cli.NewProjectOptions(files,
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithDefaultProfiles(),
	)
	if err != nil {
		fail(err.Error())
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err.Error())
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fail(err.Error())
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fail(err.Error())
	}
}

type multiFlag []string

func (m *multiFlag) String() string { return fmt.Sprint(*m) }

func (m *multiFlag) Set(value string) error {
	*m = append(*m, value)
	return nil
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
