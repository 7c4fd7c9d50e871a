package clientpolicy

import (
	"testing"

	"github.com/monban-idp/monban/storage"
)

func TestValidatePAR(t *testing.T) {
	tests := []struct {
		name    string
		client  storage.Client
		wantErr bool
	}{
		{"not required", storage.Client{GrantTypes: []string{"client_credentials"}}, false},
		{"required with the code grant", storage.Client{RequirePAR: true, GrantTypes: []string{"authorization_code"}}, false},
		{"required without the code grant", storage.Client{RequirePAR: true, GrantTypes: []string{"client_credentials"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := validatePAR(&tt.client)
			if (len(errs) > 0) != tt.wantErr {
				t.Fatalf("validatePAR = %v, want error %v", errs, tt.wantErr)
			}
			for _, e := range errs {
				if e.Field != FieldRequirePAR {
					t.Errorf("field %q, want %q", e.Field, FieldRequirePAR)
				}
			}
		})
	}
}
