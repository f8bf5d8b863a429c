package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/uplink"
)

// ErrCredentialRefused is returned when the hub answers 401 to the
// gateway's credential: it was revoked, or the hub lost it.
var ErrCredentialRefused = errors.New("credential refused by the hub (revoked?)")

// Client talks to the hub's uplink API over the pinned TLS connection
// (HTTP/2), authenticated with the gateway's credential.
type Client struct {
	base string
	cred string
	http *http.Client
	tr   *http.Transport
}

// NewClient returns a client for the identity's hub.
func NewClient(id Identity) *Client {
	tr := &http.Transport{TLSClientConfig: id.TLS(), ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 0}
	return &Client{base: id.Hub, cred: id.Credential, tr: tr, http: &http.Client{Transport: tr}}
}

// Close drops idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// requestTimeout bounds the small JSON requests (not uploads).
const requestTimeout = 20 * time.Second

// Config fetches the gateway's configuration (site, cameras, RTSP base).
func (c *Client) Config(ctx context.Context) (uplink.Config, error) {
	var cfg uplink.Config
	err := c.doJSON(ctx, http.MethodGet, uplink.PathConfig, nil, &cfg)
	if err != nil {
		return cfg, fmt.Errorf("get config: %w", err)
	}
	return cfg, nil
}

// Status posts a status report.
func (c *Client) Status(ctx context.Context, st uplink.Status) error {
	if err := c.doJSON(ctx, http.MethodPost, uplink.PathStatus, st, nil); err != nil {
		return fmt.Errorf("post status: %w", err)
	}
	return nil
}

// Progress asks what the hub durably holds of a camera's origin.
func (c *Client) Progress(ctx context.Context, camera, origin string) (uplink.Progress, error) {
	var p uplink.Progress
	if err := c.doJSON(ctx, http.MethodGet, uplink.FragmentsPath(camera, origin), nil, &p); err != nil {
		return p, fmt.Errorf("get progress of %s: %w", camera, err)
	}
	return p, nil
}

// UploadError is a refused or failed upload. When HasProgress, Progress
// is what the hub durably holds anyway (it acknowledges those seqs).
type UploadError struct {
	Status      int    // HTTP status
	Code        string // the hub's error code: bad_request, too_large, conflict, internal, ...
	Message     string
	Progress    uplink.Progress
	HasProgress bool
}

// Error implements error.
func (e *UploadError) Error() string {
	return fmt.Sprintf("hub answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Upload posts a fragment stream read from body and returns the progress
// the hub answers once what it received is durable. A non-2xx answer is an
// *UploadError (carrying the hub's progress when it sent one), a refused
// credential ErrCredentialRefused.
func (c *Client) Upload(ctx context.Context, camera, origin string, body io.Reader) (uplink.Progress, error) {
	var p uplink.Progress
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+uplink.FragmentsPath(camera, origin), body)
	if err != nil {
		return p, fmt.Errorf("upload %s: %w", camera, err)
	}
	req.Header.Set("Content-Type", uplink.ContentType)
	req.Header.Set("Authorization", "Bearer "+c.cred)
	resp, err := c.http.Do(req)
	if err != nil {
		return p, fmt.Errorf("upload %s: %w", camera, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return p, fmt.Errorf("upload %s: %w", camera, ErrCredentialRefused)
	}
	if err := retryAfter(resp); err != nil {
		return p, fmt.Errorf("upload %s: %w", camera, err)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p); err != nil {
			return p, fmt.Errorf("upload %s: decode the hub's answer: %w", camera, err)
		}
		return p, nil
	}
	ue := &UploadError{Status: resp.StatusCode}
	var ans struct {
		Error    string           `json:"error"`
		Code     string           `json:"code"`
		Progress *uplink.Progress `json:"progress"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &ans) == nil {
		ue.Code, ue.Message = ans.Code, ans.Error
		if ans.Progress != nil {
			ue.Progress, ue.HasProgress = *ans.Progress, true
		}
	} else {
		ue.Message = strings.TrimSpace(string(b[:min(len(b), 512)]))
	}
	return ue.Progress, fmt.Errorf("upload %s: %w", camera, ue)
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req, out)
}

// do sends req with the credential and decodes a 2xx JSON answer into out.
func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Authorization", "Bearer "+c.cred)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrCredentialRefused
	}
	if err := retryAfter(resp); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return errors.New(statusText(resp))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode the hub's answer: %w", err)
	}
	return nil
}
