package main

import (
	"testing"
)

// TestConfigManagementListen covers management_listen: its default, the
// file and environment, "" or off to disable it, and validation.
func TestConfigManagementListen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default", want: "127.0.0.1:9090"},
		{name: "env", env: map[string]string{"MONBAN_MANAGEMENT_LISTEN": ":9100"}, want: ":9100"},
		{name: "file", args: []string{"--config", writeFile(t, "m.yaml", "management_listen: 10.0.0.1:9000\n")}, want: "10.0.0.1:9000"},
		{name: "file-empty-disables", args: []string{"--config", writeFile(t, "m.yaml", "management_listen: \"\"\n")}, want: ""},
		{name: "env-off-disables", env: map[string]string{"MONBAN_MANAGEMENT_LISTEN": "off"}, want: ""},
		{name: "not-host-port", env: map[string]string{"MONBAN_MANAGEMENT_LISTEN": "9090"}, want: "9090", wantErr: "must be host:port"},
		{name: "same-as-listen", env: map[string]string{"MONBAN_MANAGEMENT_LISTEN": ":8080"}, want: ":8080",
			wantErr: "must differ from the listen address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if c.ManagementListen != tc.want {
				t.Fatalf("ManagementListen = %q, want %q", c.ManagementListen, tc.want)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}
}
