package media

import "fmt"

// Codec identifies an elementary stream codec.
type Codec int

// Codecs Vigil knows about.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecH265
	CodecAAC
	CodecOpus
	CodecG711A
	CodecG711U
)

// CodecInfo is the per-codec knowledge used across packages.
type CodecInfo struct {
	// Name is the short lowercase name used in the API and logs.
	Name string
	// Video is true for video codecs.
	Video bool
	// Recordable is true when the codec can be stored in fMP4 without
	// transcoding. Non-recordable tracks are dropped cleanly by the recorder.
	Recordable bool
	// MP4Codec is the RFC 6381 codec prefix used in HLS CODECS attributes.
	MP4Codec string
}

var codecTable = [...]CodecInfo{
	CodecUnknown: {Name: "unknown"},
	CodecH264:    {Name: "h264", Video: true, Recordable: true, MP4Codec: "avc1"},
	CodecH265:    {Name: "h265", Video: true, Recordable: true, MP4Codec: "hvc1"},
	CodecAAC:     {Name: "aac", Recordable: true, MP4Codec: "mp4a.40.2"},
	CodecOpus:    {Name: "opus", Recordable: true, MP4Codec: "opus"},
	CodecG711A:   {Name: "pcma"},
	CodecG711U:   {Name: "pcmu"},
}

// Info returns the codec's table entry.
func (c Codec) Info() CodecInfo {
	if c < 0 || int(c) >= len(codecTable) {
		return codecTable[CodecUnknown]
	}
	return codecTable[c]
}

// String returns the codec's short name.
func (c Codec) String() string { return c.Info().Name }

// ParseCodec returns the codec with the given short name.
func ParseCodec(name string) (Codec, error) {
	for i, ci := range codecTable {
		if i != int(CodecUnknown) && ci.Name == name {
			return Codec(i), nil
		}
	}
	return CodecUnknown, fmt.Errorf("unknown codec %q", name)
}
