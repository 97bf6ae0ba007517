package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/patchwatch/patchwatch/config"
)

const examplePath = "../patchwatch.example.yaml"

// TestExampleIsTheDefaults: patchwatch.example.yaml sets every key to its
// default, so a newcomer's copy starts from what runs without a file.
func TestExampleIsTheDefaults(t *testing.T) {
	cfg, err := config.Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(cfg)
	want, _ := yaml.Marshal(config.Default())
	if string(got) != string(want) {
		t.Errorf("the example differs from the defaults:\n--- example\n%s\n--- defaults\n%s", got, want)
	}
}

// TestExampleHasEveryKey: every key of Config appears in the example, and
// every section and top-level key carries a comment.
func TestExampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, prefix string, depth int)
	walk = func(n *yaml.Node, prefix string, depth int) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			path := prefix + key.Value
			present[path] = true
			section := value.Kind == yaml.MappingNode && len(value.Content) > 0 && depth < 2
			if (depth == 0 || section) && key.HeadComment == "" && key.LineComment == "" {
				t.Errorf("%s has no comment in the example", path)
			}
			walk(value, path+".", depth+1)
		}
	}
	walk(root.Content[0], "", 0)
	for _, key := range configKeys(reflect.TypeFor[config.Config](), "") {
		if !present[key] {
			t.Errorf("%s is missing from %s", key, examplePath)
		}
	}
}

// configKeys lists every YAML key path of a struct type; maps are leaves.
func configKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		keys = append(keys, prefix+name)
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
			keys = append(keys, configKeys(f.Type, prefix+name+".")...)
		}
	}
	return keys
}

// TestEnvironmentWhereTheFileIsSilent: $PATCHWATCH_DB and
// $PATCHWATCH_LISTEN apply unless the file sets db or server.listen.
func TestEnvironmentWhereTheFileIsSilent(t *testing.T) {
	env := map[string]string{"PATCHWATCH_DB": "/data/patchwatch.db", "PATCHWATCH_LISTEN": "0.0.0.0:8080"}
	tests := []struct {
		name, file, wantDB, wantListen string
	}{
		{"silent", "log_level: info\n", "/data/patchwatch.db", "0.0.0.0:8080"},
		{"empty file", "", "/data/patchwatch.db", "0.0.0.0:8080"},
		{"file sets both", "db: /srv/pw.db\nserver:\n  listen: 127.0.0.1:9000\n", "/srv/pw.db", "127.0.0.1:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.ParseEnv(strings.NewReader(tt.file), func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DB != tt.wantDB || cfg.Server.Listen != tt.wantListen {
				t.Errorf("db %q listen %q, want %q %q", cfg.DB, cfg.Server.Listen, tt.wantDB, tt.wantListen)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	cfg := config.Default()
	cfg.Feeds.KEV.URL = "https://mirror:s3cret@mirror.example.org/kev.json"
	cfg.Notify.Projects = map[string]string{"research": "#research"}
	red := cfg.Redacted()
	out, _ := yaml.Marshal(red)
	if strings.Contains(string(out), "s3cret") || !strings.Contains(string(out), "https://mirror:xxxxx@mirror.example.org/kev.json") {
		t.Errorf("redacted:\n%s", out)
	}
	if cfg.Feeds.KEV.URL != "https://mirror:s3cret@mirror.example.org/kev.json" {
		t.Error("Redacted changed the original")
	}
}

func TestLogFormat(t *testing.T) {
	if _, err := config.Parse(strings.NewReader("log_format: xml\n")); err == nil || !strings.Contains(err.Error(), "log_format") {
		t.Errorf("log_format xml: %v", err)
	}
	if cfg, err := config.Parse(strings.NewReader("log_format: json\n")); err != nil || cfg.LogFormat != "json" {
		t.Errorf("log_format json: %v", err)
	}
}
