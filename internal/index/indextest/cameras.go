package indextest

import (
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/index"
)

func testCameras(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, idx index.Index)
	}{
		{"CreateGet", cameraCreateGet},
		{"Defaults", cameraDefaults},
		{"CreateConflict", func(t *testing.T, idx index.Index) {
			mustCamera(t, idx, index.Camera{ID: "cam1"})
			_, err := idx.CreateCamera(ctxT(t), index.Camera{ID: "cam1"})
			isErr(t, err, index.ErrConflict, "create duplicate camera")
		}},
		{"CreateUnknownSite", func(t *testing.T, idx index.Index) {
			_, err := idx.CreateCamera(ctxT(t), index.Camera{ID: "cam1", Site: "nowhere"})
			isErr(t, err, index.ErrNotFound, "create camera with unknown site")
			if err != nil && !strings.Contains(err.Error(), "site") {
				t.Errorf("error %q does not mention the site", err)
			}
			_, err = idx.GetCamera(ctxT(t), "cam1")
			isErr(t, err, index.ErrNotFound, "camera after failed create")
		}},
		{"CreateEmptyID", func(t *testing.T, idx index.Index) {
			_, err := idx.CreateCamera(ctxT(t), index.Camera{Name: "x"})
			isErr(t, err, index.ErrInvalid, "create camera without id")
		}},
		{"GetMissing", func(t *testing.T, idx index.Index) {
			_, err := idx.GetCamera(ctxT(t), "nope")
			isErr(t, err, index.ErrNotFound, "get missing camera")
		}},
		{"ListOrdered", cameraList},
		{"Update", cameraUpdate},
		{"UpdateMissing", func(t *testing.T, idx index.Index) {
			_, err := idx.UpdateCamera(ctxT(t), index.Camera{ID: "nope"})
			isErr(t, err, index.ErrNotFound, "update missing camera")
		}},
		{"UpdateUnknownSite", func(t *testing.T, idx index.Index) {
			mustCamera(t, idx, index.Camera{ID: "cam1"})
			_, err := idx.UpdateCamera(ctxT(t), index.Camera{ID: "cam1", Site: "nowhere"})
			isErr(t, err, index.ErrNotFound, "update camera to unknown site")
		}},
		{"Delete", cameraDelete},
		{"DeleteMissing", func(t *testing.T, idx index.Index) {
			isErr(t, idx.DeleteCamera(ctxT(t), "nope"), index.ErrNotFound, "delete missing camera")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

func mustCamera(t *testing.T, idx index.Index, c index.Camera) index.Camera {
	t.Helper()
	out, err := idx.CreateCamera(ctxT(t), c)
	ok(t, err, "create camera "+c.ID)
	return out
}

func fullCamera() index.Camera {
	return index.Camera{
		ID:            "cam1",
		Name:          "Gate",
		Site:          "hq",
		Source:        "rtsp://user:pass@10.0.0.5/stream1",
		Transport:     "tcp",
		Record:        true,
		RetentionDays: 14,
		Analytics:     `{"motion":{"sensitivity":0.5}}`,
	}
}

// cameraFields renders the user-set fields of a camera.
func cameraFields(c index.Camera) index.Camera {
	return index.Camera{
		ID: c.ID, Name: c.Name, Site: c.Site, Source: c.Source, Transport: c.Transport,
		Record: c.Record, RetentionDays: c.RetentionDays, Analytics: c.Analytics,
	}
}

func cameraCreateGet(t *testing.T, idx index.Index) {
	mustSite(t, idx, "hq")
	want := fullCamera()
	created := mustCamera(t, idx, want)
	if cameraFields(created) != want {
		t.Errorf("create camera = %+v, want %+v", created, want)
	}
	if created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Errorf("created times = %v, %v; want set and equal", created.CreatedAt, created.UpdatedAt)
	}
	got, err := idx.GetCamera(ctxT(t), "cam1")
	ok(t, err, "get camera")
	if cameraFields(got) != want {
		t.Errorf("get camera = %+v, want %+v", got, want)
	}
	sameTime(t, got.CreatedAt, created.CreatedAt, "CreatedAt")
}

func cameraDefaults(t *testing.T, idx index.Index) {
	mustCamera(t, idx, index.Camera{ID: "cam1"})
	got, err := idx.GetCamera(ctxT(t), "cam1")
	ok(t, err, "get camera")
	want := index.Camera{ID: "cam1", Analytics: "{}"}
	if cameraFields(got) != want {
		t.Errorf("camera with defaults = %+v, want %+v", got, want)
	}
}

func cameraList(t *testing.T, idx index.Index) {
	for _, id := range []string{"cam2", "cam10", "cam1"} {
		mustCamera(t, idx, index.Camera{ID: id})
	}
	cams, err := idx.ListCameras(ctxT(t))
	ok(t, err, "list cameras")
	var got []string
	for _, c := range cams {
		got = append(got, c.ID)
	}
	if strings.Join(got, ",") != "cam1,cam10,cam2" {
		t.Errorf("list cameras = %v, want cam1,cam10,cam2", got)
	}
}

func cameraUpdate(t *testing.T, idx index.Index) {
	mustSite(t, idx, "hq")
	mustSite(t, idx, "depot")
	created := mustCamera(t, idx, fullCamera())
	want := fullCamera()
	want.Name, want.Site, want.Record, want.RetentionDays = "Back gate", "depot", false, 0
	want.Transport, want.Source, want.Analytics = "udp", "", "{}"
	up, err := idx.UpdateCamera(ctxT(t), want)
	ok(t, err, "update camera")
	if cameraFields(up) != want {
		t.Errorf("update camera = %+v, want %+v", up, want)
	}
	sameTime(t, up.CreatedAt, created.CreatedAt, "CreatedAt after update")
	got, err := idx.GetCamera(ctxT(t), "cam1")
	ok(t, err, "get camera")
	if cameraFields(got) != want {
		t.Errorf("get after update = %+v, want %+v", got, want)
	}
	want.Site = ""
	up, err = idx.UpdateCamera(ctxT(t), want)
	ok(t, err, "clear camera site")
	if up.Site != "" {
		t.Errorf("site after clearing = %q", up.Site)
	}
}

func cameraDelete(t *testing.T, idx index.Index) {
	mustCamera(t, idx, index.Camera{ID: "cam1"})
	seg := addSeg(t, idx, newSeg("cam1", 0, 60e9))
	ok(t, idx.DeleteCamera(ctxT(t), "cam1"), "delete camera")
	_, err := idx.GetCamera(ctxT(t), "cam1")
	isErr(t, err, index.ErrNotFound, "get deleted camera")
	got, err := idx.GetSegment(ctxT(t), seg.ID)
	ok(t, err, "segment of a deleted camera must remain")
	sameSegment(t, got, seg)
}
