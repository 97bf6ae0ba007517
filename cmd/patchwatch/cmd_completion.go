package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// runCompletion prints a bash or zsh completion script, generated from the
// command table and each command's own flags.
func runCompletion(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "completion")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "bash" && fs.Arg(0) != "zsh") {
		return usageError("usage: patchwatch completion bash|zsh")
	}
	tree := completionTree(ctx, env)
	if fs.Arg(0) == "bash" {
		return writeBashCompletion(env.Stdout, tree)
	}
	return writeZshCompletion(env.Stdout, tree)
}

// completionNode is a command with its summary, subcommands and flags.
type completionNode struct {
	name, summary string
	subs          []completionNode
	flags         []string
}

// completionTree gathers every command and subcommand with the flags its
// flag set declares, read from its --help.
func completionTree(ctx context.Context, env *Env) []completionNode {
	table := helpTable()
	var out []completionNode
	for _, c := range commands() {
		n := completionNode{name: c.name, summary: c.summary}
		subs := table[c.name].subcommands
		if len(subs) == 0 {
			n.flags = flagsOf(ctx, env, c.name)
		}
		for _, sub := range subs {
			n.subs = append(n.subs, completionNode{name: sub, summary: firstSentence(table[c.name+" "+sub].about),
				flags: flagsOf(ctx, env, c.name, sub)})
		}
		out = append(out, n)
	}
	return out
}

// flagsOf runs a command's --help and collects the flags it lists.
func flagsOf(ctx context.Context, env *Env, words ...string) []string {
	var help bytes.Buffer
	sub := &Env{Stdout: &help, Stderr: io.Discard, Getenv: env.Getenv, Now: env.Now}
	if err := Run(ctx, sub, append(words, "--help")); err != nil {
		if exit, ok := err.(*ExitError); !ok || exit.Code != ExitOK {
			return nil
		}
	}
	var flags []string
	for _, line := range strings.Split(help.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			name, _, _ := strings.Cut(rest, " ")
			flags = append(flags, "--"+name)
		}
	}
	return append(flags, "--help")
}

func writeBashCompletion(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString("# bash completion for patchwatch; load with: source <(patchwatch completion bash)\n")
	b.WriteString("_patchwatch() {\n")
	b.WriteString("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	b.WriteString("    local cmd=\"${COMP_WORDS[1]}\" key flags\n")
	b.WriteString("    if [[ $COMP_CWORD -eq 1 ]]; then\n")
	fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return\n    fi\n", strings.Join(append(names(tree), "help", "--version", "--help"), " "))
	b.WriteString("    case \"$prev\" in\n")
	b.WriteString("        --format) COMPREPLY=($(compgen -W \"table json\" -- \"$cur\")); return ;;\n")
	b.WriteString("        --channel) COMPREPLY=($(compgen -W \"email slack\" -- \"$cur\")); return ;;\n")
	b.WriteString("        --by) COMPREPLY=($(compgen -W \"host owner urgency\" -- \"$cur\")); return ;;\n")
	b.WriteString("        --kind) COMPREPLY=($(compgen -W \"admin owner enroll\" -- \"$cur\")); return ;;\n")
	b.WriteString("    esac\n")
	b.WriteString("    key=\"$cmd\"\n    case \"$cmd\" in\n")
	for _, n := range tree {
		if len(n.subs) > 0 {
			fmt.Fprintf(&b, "        %s)\n            if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n            key=\"$cmd ${COMP_WORDS[2]}\" ;;\n",
				n.name, strings.Join(names(n.subs), " "))
		}
	}
	b.WriteString("        help) COMPREPLY=($(compgen -W \"" + strings.Join(names(tree), " ") + "\" -- \"$cur\")); return ;;\n")
	b.WriteString("    esac\n    case \"$key\" in\n")
	for _, n := range tree {
		if len(n.subs) == 0 {
			fmt.Fprintf(&b, "        %q) flags=%q ;;\n", n.name, strings.Join(n.flags, " "))
		}
		for _, s := range n.subs {
			fmt.Fprintf(&b, "        %q) flags=%q ;;\n", n.name+" "+s.name, strings.Join(s.flags, " "))
		}
	}
	b.WriteString("    esac\n")
	b.WriteString("    if [[ \"$cur\" == -* ]]; then\n        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n    else\n        COMPREPLY=($(compgen -f -- \"$cur\"))\n    fi\n}\n")
	b.WriteString("complete -o filenames -F _patchwatch patchwatch\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeZshCompletion(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString("#compdef patchwatch\n")
	b.WriteString("# zsh completion for patchwatch; put it in $fpath as _patchwatch, or: source <(patchwatch completion zsh)\n")
	b.WriteString("_patchwatch() {\n    local -a cmds subs flags\n")
	b.WriteString("    cmds=(\n")
	for _, n := range tree {
		fmt.Fprintf(&b, "        %s\n", zshQuote(n.name+":"+n.summary))
	}
	b.WriteString("    )\n")
	b.WriteString("    if (( CURRENT == 2 )); then\n        _describe -t commands 'patchwatch command' cmds\n        return\n    fi\n")
	b.WriteString("    case $words[CURRENT-1] in\n")
	b.WriteString("        --format) compadd table json; return ;;\n        --channel) compadd email slack; return ;;\n")
	b.WriteString("        --by) compadd host owner urgency; return ;;\n        --kind) compadd admin owner enroll; return ;;\n    esac\n")
	b.WriteString("    local key=$words[2]\n    case $words[2] in\n")
	for _, n := range tree {
		if len(n.subs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "        %s)\n            subs=(", n.name)
		for _, s := range n.subs {
			b.WriteString(" " + zshQuote(s.name+":"+s.summary))
		}
		b.WriteString(" )\n            if (( CURRENT == 3 )); then _describe -t commands 'subcommand' subs; return; fi\n            key=\"$words[2] $words[3]\" ;;\n")
	}
	b.WriteString("        help) _describe -t commands 'patchwatch command' cmds; return ;;\n")
	b.WriteString("    esac\n    case $key in\n")
	for _, n := range tree {
		if len(n.subs) == 0 {
			fmt.Fprintf(&b, "        %s) flags=(%s) ;;\n", zshQuote(n.name), strings.Join(n.flags, " "))
		}
		for _, s := range n.subs {
			fmt.Fprintf(&b, "        %s) flags=(%s) ;;\n", zshQuote(n.name+" "+s.name), strings.Join(s.flags, " "))
		}
	}
	b.WriteString("    esac\n")
	b.WriteString("    if [[ $PREFIX == -* ]]; then\n        compadd -a flags\n    else\n        _files\n    fi\n}\n")
	b.WriteString("if [[ $funcstack[1] == _patchwatch ]]; then\n    _patchwatch \"$@\"\nelse\n    compdef _patchwatch patchwatch\nfi\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func names(nodes []completionNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.name
	}
	return out
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
