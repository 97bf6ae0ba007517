// Command patchwatch tells VM owners which security updates their machines
// are missing. See README.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	err := Run(ctx, env, os.Args[1:])
	stop()
	if err == nil {
		return
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintln(os.Stderr, "patchwatch:", exit.Err)
		}
		if exit.Hint != "" {
			fmt.Fprintln(os.Stderr, "patchwatch: "+exit.Hint)
		}
		os.Exit(exit.Code)
	}
	fmt.Fprintln(os.Stderr, "patchwatch:", err)
	os.Exit(1)
}
