package main

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/patchwatch/patchwatch/config"
	"github.com/patchwatch/patchwatch/internal/buildinfo"
)

// runVersion prints the build: `patchwatch version`, `patchwatch --version`.
func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version")
	format := formatFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	info := buildinfo.Read()
	if *format == "json" {
		return writeJSON(env.Stdout, info)
	}
	_, err := fmt.Fprintln(env.Stdout, "patchwatch", info)
	return err
}

// runConfig is `patchwatch config check FILE`.
func runConfig(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError("usage: patchwatch config check FILE")
	}
	fs := newFlags(env, "config check")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("usage: patchwatch config check FILE")
	}
	cfg, err := config.LoadEnv(fs.Arg(0), env.Getenv)
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(cfg.Redacted())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "# %s is valid; the effective configuration (defaults filled in, secrets redacted):\n", fs.Arg(0))
	for _, name := range []string{"PATCHWATCH_SMTP_PASSWORD", "PATCHWATCH_SLACK_WEBHOOK_URL", "PATCHWATCH_SLACK_BOT_TOKEN"} {
		if env.Getenv(name) != "" {
			fmt.Fprintf(env.Stdout, "# $%s is set (not shown)\n", name)
		}
	}
	_, err = env.Stdout.Write(out)
	return err
}
