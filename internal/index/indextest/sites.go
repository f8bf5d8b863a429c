package indextest

import (
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/index"
)

func testSites(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, idx index.Index)
	}{
		{"CreateGet", siteCreateGet},
		{"CreateConflict", func(t *testing.T, idx index.Index) {
			mustSite(t, idx, "hq")
			_, err := idx.CreateSite(ctxT(t), index.Site{ID: "hq"})
			isErr(t, err, index.ErrConflict, "create duplicate site")
		}},
		{"CreateEmptyID", func(t *testing.T, idx index.Index) {
			_, err := idx.CreateSite(ctxT(t), index.Site{Name: "x"})
			isErr(t, err, index.ErrInvalid, "create site without id")
		}},
		{"GetMissing", func(t *testing.T, idx index.Index) {
			_, err := idx.GetSite(ctxT(t), "nope")
			isErr(t, err, index.ErrNotFound, "get missing site")
		}},
		{"ListOrdered", siteList},
		{"Update", siteUpdate},
		{"UpdateMissing", func(t *testing.T, idx index.Index) {
			_, err := idx.UpdateSite(ctxT(t), index.Site{ID: "nope"})
			isErr(t, err, index.ErrNotFound, "update missing site")
		}},
		{"DeleteMissing", func(t *testing.T, idx index.Index) {
			isErr(t, idx.DeleteSite(ctxT(t), "nope"), index.ErrNotFound, "delete missing site")
		}},
		{"DeleteInUse", siteDeleteInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

func mustSite(t *testing.T, idx index.Index, id string) index.Site {
	t.Helper()
	s, err := idx.CreateSite(ctxT(t), index.Site{ID: id, Name: "Site " + id, Region: "eu"})
	ok(t, err, "create site "+id)
	return s
}

func siteCreateGet(t *testing.T, idx index.Index) {
	created := mustSite(t, idx, "hq")
	if created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("created times = %v, %v; want set and equal", created.CreatedAt, created.UpdatedAt)
	}
	got, err := idx.GetSite(ctxT(t), "hq")
	ok(t, err, "get site")
	if got.ID != "hq" || got.Name != "Site hq" || got.Region != "eu" {
		t.Errorf("get site = %+v", got)
	}
	sameTime(t, got.CreatedAt, created.CreatedAt, "CreatedAt")
	sameTime(t, got.UpdatedAt, created.UpdatedAt, "UpdatedAt")
}

func siteList(t *testing.T, idx index.Index) {
	for _, id := range []string{"b", "c", "a"} {
		mustSite(t, idx, id)
	}
	sites, err := idx.ListSites(ctxT(t))
	ok(t, err, "list sites")
	var got []string
	for _, s := range sites {
		got = append(got, s.ID)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("list sites = %v, want a,b,c", got)
	}
}

func siteUpdate(t *testing.T, idx index.Index) {
	created := mustSite(t, idx, "hq")
	up, err := idx.UpdateSite(ctxT(t), index.Site{ID: "hq", Name: "Head office", Region: "us"})
	ok(t, err, "update site")
	if up.Name != "Head office" || up.Region != "us" {
		t.Errorf("update site = %+v", up)
	}
	sameTime(t, up.CreatedAt, created.CreatedAt, "CreatedAt after update")
	if up.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", up.UpdatedAt, created.UpdatedAt)
	}
	got, err := idx.GetSite(ctxT(t), "hq")
	ok(t, err, "get site")
	if got.Name != "Head office" {
		t.Errorf("get after update = %+v", got)
	}
}

func siteDeleteInUse(t *testing.T, idx index.Index) {
	mustSite(t, idx, "hq")
	mustCamera(t, idx, index.Camera{ID: "cam1", Site: "hq"})
	isErr(t, idx.DeleteSite(ctxT(t), "hq"), index.ErrConflict, "delete site in use")
	ok(t, idx.DeleteCamera(ctxT(t), "cam1"), "delete camera")
	ok(t, idx.DeleteSite(ctxT(t), "hq"), "delete unused site")
	_, err := idx.GetSite(ctxT(t), "hq")
	isErr(t, err, index.ErrNotFound, "get deleted site")
}
