package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
)

func runToken(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("usage: patchwatch token create|list|revoke ...")
	}
	switch args[0] {
	case "create":
		return runTokenCreate(ctx, env, args[1:])
	case "list":
		return runTokenList(ctx, env, args[1:])
	case "revoke":
		return runTokenRevoke(ctx, env, args[1:])
	}
	return usageError("unknown token command %q (create, list, revoke)", args[0])
}

// tokenFlags are the flags of the token commands: a local database, or
// the API with an admin token.
type tokenFlags struct {
	db, server, token, tokenFile, caFile *string
	// config selects the database: a store: postgres config works on the
	// database running serve replicas share.
	config *string
}

func addTokenFlags(env *Env, name string) (*flag.FlagSet, *tokenFlags) {
	return addRemoteFlags(env, name, "manage tokens through the API at this `URL` (needs an admin token)")
}

// addRemoteFlags adds --db and the flags of an API client for a command
// that changes something.
func addRemoteFlags(env *Env, name, serverHelp string) (*flag.FlagSet, *tokenFlags) {
	fs := newFlags(env, name)
	tf := &tokenFlags{
		db:        dbFlag(env, fs),
		server:    fs.String("server", "", serverHelp),
		token:     fs.String("token", "", "API token for --server (or --token-file, or $PATCHWATCH_TOKEN)"),
		tokenFile: fs.String("token-file", "", "`file` holding the API token for --server"),
		caFile:    fs.String("ca-file", "", "PEM `file` of a CA to trust for --server"),
		config:    configFlag(fs),
	}
	return fs, tf
}

func runTokenCreate(ctx context.Context, env *Env, args []string) error {
	fs, tf := addTokenFlags(env, "token create")
	kind := fs.String("kind", "", "admin, owner or enroll (host tokens come from enrollment)")
	owner := fs.String("owner", "", "owner `email` the token acts for (owner and enroll tokens)")
	project := fs.String("project", "", "project an enroll token enrolls hosts into")
	expires := fs.String("expires", "", "lifetime, such as 720h; empty for none")
	note := fs.String("note", "", "what the token is for")
	uses := fs.Int("uses", 0, "enrollments an enroll token may make; 0 for no limit")
	host := fs.String("host", "", "the one host `NAME` an enroll token may enroll")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req := server.TokenRequest{Kind: patchwatch.TokenKind(*kind), Owner: *owner, Project: *project, Note: *note, ExpiresIn: *expires, Uses: *uses, Host: *host}
	var resp server.TokenResponse
	if *tf.server != "" {
		r, err := newRemote(env, *tf.server, *tf.token, *tf.tokenFile, *tf.caFile)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(req)
		if err := r.do(ctx, http.MethodPost, r.base+"/api/v1/tokens", bytes.NewReader(body), &resp); err != nil {
			return err
		}
	} else {
		s, err := openCLIStore(ctx, env, *tf.db, *tf.config, false)
		if err != nil {
			return err
		}
		defer s.Close()
		if resp, err = server.CreateToken(ctx, s, req, env.now()); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	fmt.Fprintf(env.Stderr, "token %s (%s) created; the secret below is shown only once:\n", resp.Token.ID, resp.Token.Kind)
	fmt.Fprintln(env.Stdout, resp.Secret)
	return nil
}

func runTokenList(ctx context.Context, env *Env, args []string) error {
	fs, tf := addTokenFlags(env, "token list")
	format := formatFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var tokens []patchwatch.Token
	if *tf.server != "" {
		r, err := newRemote(env, *tf.server, *tf.token, *tf.tokenFile, *tf.caFile)
		if err != nil {
			return err
		}
		if err := r.get(ctx, "/api/v1/tokens", nil, &tokens); err != nil {
			return err
		}
	} else {
		s, err := openCLIStore(ctx, env, *tf.db, *tf.config, true)
		if err != nil {
			return err
		}
		defer s.Close()
		if tokens, err = s.Tokens(ctx); err != nil {
			return err
		}
	}
	if *format == "json" {
		return writeJSON(env.Stdout, tokens)
	}
	now := env.now()
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tOWNER\tHOST\tEXPIRES\tUSES\tSTATE\tNOTE")
	for _, t := range tokens {
		state := "active"
		if err := t.Usable(now); err != nil {
			state = err.Error()
		}
		expires := "-"
		if !t.Expires.IsZero() {
			expires = t.Expires.Format(time.RFC3339)
		}
		uses := "-"
		if t.Uses > 0 {
			uses = fmt.Sprintf("%d/%d", t.Used, t.Uses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, t.Owner, t.Host, expires, uses, state, oneLine(t.Note, 40))
	}
	return tw.Flush()
}

func runTokenRevoke(ctx context.Context, env *Env, args []string) error {
	return runRemoveByID(ctx, env, args, "token revoke", "manage tokens through the API at this `URL` (needs an admin token)",
		"/api/v1/tokens/", "revoked", func(ctx context.Context, s cliStore, id string) error { return s.RevokeToken(ctx, id) })
}

// runRemoveByID removes one thing named by its ID, locally or through the
// API's DELETE prefix+ID.
func runRemoveByID(ctx context.Context, env *Env, args []string, name, serverHelp, apiPrefix, done string,
	local func(context.Context, cliStore, string) error) error {
	fs, tf := addRemoteFlags(env, name, serverHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("usage: patchwatch %s ID", name)
	}
	id := fs.Arg(0)
	if *tf.server != "" {
		r, err := newRemote(env, *tf.server, *tf.token, *tf.tokenFile, *tf.caFile)
		if err != nil {
			return err
		}
		var resp map[string]string
		if err := r.do(ctx, http.MethodDelete, r.base+apiPrefix+url.PathEscape(id), nil, &resp); err != nil {
			return err
		}
	} else {
		s, err := openCLIStore(ctx, env, *tf.db, *tf.config, false)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := local(ctx, s, id); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "%s %s\n", id, done)
	return nil
}
