package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/patchwatch/patchwatch"
	"github.com/patchwatch/patchwatch/server"
)

func runSilence(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("usage: patchwatch silence add|list|remove ...")
	}
	switch args[0] {
	case "add":
		return runSilenceAdd(ctx, env, args[1:])
	case "list":
		return runSilenceList(ctx, env, args[1:])
	case "remove":
		return runSilenceRemove(ctx, env, args[1:])
	}
	return usageError("unknown silence command %q (add, list, remove)", args[0])
}

func runSilenceAdd(ctx context.Context, env *Env, args []string) error {
	fs, tf := addRemoteFlags(env, "silence add", "add the silence through the API at this `URL` (admin token; an owner token for its own hosts)")
	advisory := fs.String("advisory", "", "silence this advisory ID")
	cve := fs.String("cve", "", "silence this CVE")
	pkg := fs.String("package", "", "silence this package (binary or source name)")
	check := fs.String("check", "", "disable this security-guideline check (such as no-mail-server)")
	host := fs.String("host", "", "only on this host")
	owner := fs.String("owner", "", "only on this owner's hosts")
	fleet := fs.Bool("fleet", false, "on every host")
	reason := fs.String("reason", "", "why the risk is accepted (mandatory)")
	expires := fs.String("expires", "", "when the silence ends: a date, RFC 3339 time, or duration such as 30d (mandatory)")
	by := fs.String("by", "", "who accepts the risk")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req := server.SilenceRequest{Reason: *reason, Expires: *expires, CreatedBy: *by}
	targets := 0
	for _, t := range []struct{ name, value string }{{"advisory", *advisory}, {"cve", *cve}, {"package", *pkg}, {"check", *check}} {
		if t.value != "" {
			req.Target, req.Value = t.name, t.value
			targets++
		}
	}
	scopes := 0
	for _, sc := range []struct {
		name, value string
		set         bool
	}{{"host", *host, *host != ""}, {"owner", *owner, *owner != ""}, {"fleet", "", *fleet}} {
		if sc.set {
			req.Scope, req.ScopeValue = sc.name, sc.value
			scopes++
		}
	}
	if targets != 1 || scopes != 1 {
		return usageError("silence add needs exactly one of --advisory, --cve, --package, --check and one of --host, --owner, --fleet")
	}
	if *expires == "" {
		return usageError("silence add needs --expires")
	}
	var s patchwatch.Silence
	if *tf.server != "" {
		r, err := newRemote(env, *tf.server, *tf.token, *tf.tokenFile, *tf.caFile)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(req)
		if err := r.do(ctx, http.MethodPost, r.base+"/api/v1/silences", bytes.NewReader(body), &s); err != nil {
			return err
		}
	} else {
		var err error
		if s, err = req.Silence(env.now()); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		st, err := openCLIStore(ctx, env, *tf.db, *tf.config, false)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.PutSilence(ctx, s); err != nil {
			return err
		}
	}
	verb := "silenced"
	if s.Target == "check" {
		verb = "disabled"
	}
	fmt.Fprintf(env.Stdout, "%s: %s %s %s (%s %s) until %s\n", s.ID, s.Target, s.Value, verb, s.Scope, s.ScopeValue, s.Expires.Format(time.RFC3339))
	return nil
}

func runSilenceList(ctx context.Context, env *Env, args []string) error {
	var all *bool
	q, err := queryFlags(env, "silence list", args, func(fs *flag.FlagSet) {
		all = fs.Bool("all", false, "also list expired silences")
	})
	if err != nil {
		return err
	}
	defer q.close()
	var silences []patchwatch.Silence
	if q.remote != nil {
		err = q.remote.get(ctx, "/api/v1/silences", nil, &silences)
	} else {
		silences, err = q.s.Silences(ctx)
	}
	if err != nil {
		return err
	}
	now := env.now()
	shown := []patchwatch.Silence{}
	for _, s := range silences {
		if *all || s.Active(now) {
			shown = append(shown, s)
		}
	}
	if q.format == "json" {
		return writeJSON(env.Stdout, shown)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tSCOPE\tEXPIRES\tBY\tREASON")
	for _, s := range shown {
		expires := s.Expires.Format("2006-01-02 15:04")
		if !s.Active(now) {
			expires += " (expired)"
		}
		scope := s.Scope
		if s.ScopeValue != "" {
			scope += " " + s.ScopeValue
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", s.ID, s.Target, s.Value, scope, expires, s.CreatedBy, oneLine(s.Reason, 60))
	}
	return tw.Flush()
}

func runSilenceRemove(ctx context.Context, env *Env, args []string) error {
	return runRemoveByID(ctx, env, args, "silence remove", "remove the silence through the API at this `URL`",
		"/api/v1/silences/", "removed", func(ctx context.Context, s cliStore, id string) error { return s.DeleteSilence(ctx, id) })
}
