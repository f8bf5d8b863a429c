package gateways

import (
	"context"
	"net/http"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// Auditor records audit entries (audit.Log does).
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) error
}

// record writes a change of gateway id to the audit trail, shaped like the
// API's own change entries (method, resource, target). It never holds a
// token or credential.
func (r *Registry) record(req *http.Request, p auth.Principal, id, site string, extra map[string]any) {
	if r.audit == nil {
		return
	}
	detail := map[string]any{"method": req.Method, "resource": "gateways", "target": id}
	for k, v := range extra {
		detail[k] = v
	}
	e := audit.Entry{User: p.Username, Role: string(p.Role), Action: audit.ActionChange,
		Site: site, Remote: api.RemoteIP(req), Detail: detail}
	// the change is made: the entry must not be lost with the request
	if err := r.audit.Record(context.WithoutCancel(req.Context()), e); err != nil {
		r.log.Error("audit entry not recorded", "gateway", id, "err", err)
	}
}
