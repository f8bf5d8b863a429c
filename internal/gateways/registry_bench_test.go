package gateways

import (
	"context"
	"testing"
)

// BenchmarkAuthenticateGateway: the cost of checking a credential without a
// cache (one primary-key lookup), which is what lets revocation act at once.
func BenchmarkAuthenticateGateway(b *testing.B) {
	e := newEnv(b, Config{})
	_, tok, err := e.reg.Create(context.Background(), "gw", "north")
	if err != nil {
		b.Fatal(err)
	}
	en, err := e.reg.EnrollToken(context.Background(), tok)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, _, ok := e.reg.AuthenticateGateway(ctx, en.Credential); !ok {
			b.Fatal("refused")
		}
	}
}
