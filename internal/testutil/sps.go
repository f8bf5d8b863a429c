package testutil

// H264SPS returns a baseline H.264 SPS NAL unit (with emulation prevention)
// for a picture of mbW x mbH macroblocks: a way to make cameras that
// declare any picture size, absurd ones included.
func H264SPS(mbW, mbH uint) []byte {
	w := &bitWriter{}
	w.bits(0x67, 8) // NAL header: SPS
	w.bits(66, 8)   // profile_idc baseline
	w.bits(0, 8)    // constraint flags
	w.bits(40, 8)   // level_idc
	w.ue(0)         // seq_parameter_set_id
	w.ue(0)         // log2_max_frame_num_minus4
	w.ue(2)         // pic_order_cnt_type
	w.ue(1)         // max_num_ref_frames
	w.bit(0)        // gaps_in_frame_num_value_allowed_flag
	w.ue(mbW - 1)   // pic_width_in_mbs_minus1
	w.ue(mbH - 1)   // pic_height_in_map_units_minus1
	w.bit(1)        // frame_mbs_only_flag
	w.bit(1)        // direct_8x8_inference_flag
	w.bit(0)        // frame_cropping_flag
	w.bit(0)        // vui_parameters_present_flag
	w.bit(1)        // rbsp_stop_one_bit
	for w.nbit%8 != 0 {
		w.bit(0)
	}
	return addEmulationPrevention(w.buf)
}

// bitWriter writes the bits of an H.264 SPS.
type bitWriter struct {
	buf  []byte
	nbit int
}

func (w *bitWriter) bit(v uint) {
	if w.nbit%8 == 0 {
		w.buf = append(w.buf, 0)
	}
	if v != 0 {
		w.buf[len(w.buf)-1] |= 0x80 >> (w.nbit % 8)
	}
	w.nbit++
}

func (w *bitWriter) bits(v uint, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit((v >> i) & 1)
	}
}

func (w *bitWriter) ue(v uint) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

// addEmulationPrevention inserts 0x03 after two zero bytes followed by a
// byte <= 3, as an encoder does.
func addEmulationPrevention(b []byte) []byte {
	out := make([]byte, 0, len(b)+4)
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
