package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
)

// virtualization is what kind of machine the checks run on: a container
// shares its host's kernel, so kernel and reboot advice cannot apply.
type virtualization struct {
	// container is the container manager ("lxc", "docker", "podman",
	// "systemd-nspawn", "openvz", "wsl"), "" on a VM or bare metal.
	container string
	// source says where that was read.
	source string
}

// virtualization detects a container the way systemd-detect-virt
// --container does (which it asks first where it can run): systemd's
// /run/systemd/container, the container= variable in PID 1's environment,
// Docker's /.dockerenv and Podman's /run/.containerenv.
func (e *Env) virtualization(ctx context.Context) virtualization {
	e.virtOnce.Do(func() { e.virt = e.detectVirtualization(ctx) })
	return e.virt
}

func (e *Env) detectVirtualization(ctx context.Context) virtualization {
	if out, found, err := run(ctx, e, "systemd-detect-virt", "--container"); found {
		// It prints "none" and exits 1 outside a container.
		if v := strings.TrimSpace(out); err == nil && v != "" && v != "none" {
			return virtualization{v, "systemd-detect-virt --container: " + v}
		} else if exitCode(err) == 1 {
			return virtualization{}
		}
	}
	if b, err := os.ReadFile(e.path("run/systemd/container")); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return virtualization{v, "/run/systemd/container: " + v}
		}
	}
	if b, err := os.ReadFile(filepath.Join(e.Proc, "1", "environ")); err == nil {
		for _, kv := range strings.Split(string(b), "\x00") {
			if v, ok := strings.CutPrefix(kv, "container="); ok && v != "" {
				return virtualization{v, "/proc/1/environ: container=" + v}
			}
		}
	}
	for file, kind := range map[string]string{".dockerenv": "docker", "run/.containerenv": "podman"} {
		if exists(e.path(file)) {
			return virtualization{kind, "/" + file + " exists"}
		}
	}
	return virtualization{}
}

// containerUnknown is the result of a kernel or reboot check in a
// container: the kernel is the host's, which the container cannot update
// or reboot.
func (e *Env) containerUnknown(ctx context.Context) (string, bool) {
	v := e.virtualization(ctx)
	if v.container == "" {
		return "", false
	}
	return "runs in a " + v.container + " container (" + v.source + "): the kernel is the host's, updated and rebooted there, not here", true
}
