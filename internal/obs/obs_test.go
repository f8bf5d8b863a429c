package obs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, format, level string
		wantErr             bool
		wantDebug           bool
		wantJSON            bool
	}{
		{name: "defaults", format: "", level: ""},
		{name: "text debug", format: "text", level: "debug", wantDebug: true},
		{name: "json info", format: "json", level: "INFO", wantJSON: true},
		{name: "json warn", format: "JSON", level: "warn", wantJSON: true},
		{name: "bad format", format: "xml", level: "info", wantErr: true},
		{name: "bad level", format: "text", level: "loud", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tt.format, tt.level)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("dbg")
			log.Error("boom", "k", "v")
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tt.wantDebug {
				t.Errorf("debug shown = %v, want %v", got, tt.wantDebug)
			}
			if !strings.Contains(out, "boom") {
				t.Errorf("error line missing: %q", out)
			}
			last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
			isJSON := json.Valid([]byte(last))
			if isJSON != tt.wantJSON {
				t.Errorf("json = %v, want %v (%q)", isJSON, tt.wantJSON, last)
			}
		})
	}
}

func TestNewRegistry(t *testing.T) {
	t.Parallel()
	a, b := NewRegistry(), NewRegistry()
	if a == b {
		t.Fatal("registries must be distinct")
	}
	mfs, err := a.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var haveGo, haveProc bool
	for _, mf := range mfs {
		haveGo = haveGo || strings.HasPrefix(mf.GetName(), "go_")
		haveProc = haveProc || strings.HasPrefix(mf.GetName(), "process_")
	}
	if !haveGo || !haveProc {
		t.Errorf("go=%v process=%v", haveGo, haveProc)
	}
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	Discard().Error("nothing")
}
