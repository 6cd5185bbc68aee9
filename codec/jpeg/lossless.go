package jpeg

// losslessScan decodes one scan of a lossless frame (T.81 Annex H): each sample is a prediction
// from its decoded neighbours plus a Huffman-coded difference, modulo 2^16.
func (d *decoder) losslessScan(sc *scan) error {
	psv, pt := sc.ss, sc.al
	if psv < 1 || psv > 7 {
		return corrupt("lossless predictor %d", psv)
	}
	if pt >= d.prec {
		return corrupt("point transform %d with precision %d", pt, d.prec)
	}
	d.pt = pt
	for _, c := range sc.comps {
		if c.td == nil {
			return corrupt("component %d uses an undefined Huffman table", c.id)
		}
		c.coded = true
	}
	var mcusx, mcusy int
	single := len(sc.comps) == 1
	if single {
		c := sc.comps[0]
		mcusx, mcusy = c.cw, c.ch
	} else {
		mcusx, mcusy = d.mcusx, d.mcusy
	}
	if d.restart > 0 && d.restart%mcusx != 0 {
		return unsupported("lossless restart interval %d is not a whole number of MCU rows (%d)", d.restart, mcusx)
	}
	initial := uint16(1) << (d.prec - pt - 1)
	br := &bitReader{src: d.src, pos: d.pos}
	// Fast path: one sample per component per MCU.
	simple := true
	for _, c := range sc.comps {
		if !single && (c.h != 1 || c.v != 1) {
			simple = false
		}
	}
	rowsPerInterval := 0
	if d.restart > 0 {
		rowsPerInterval = d.restart / mcusx
	}
	rst := 0
	segStart := 0 // MCU row where the current restart interval began
	for my := 0; my < mcusy; my++ {
		if rowsPerInterval > 0 && my > 0 && my%rowsPerInterval == 0 {
			if err := br.restart(rst); err != nil {
				return err
			}
			rst++
			segStart = my
		}
		if simple {
			first := my == segStart
			for mx := 0; mx < mcusx; mx++ {
				for _, c := range sc.comps {
					diff, err := losslessDiff(br, c.td)
					if err != nil {
						return err
					}
					i := my*c.bw + mx
					var p int
					switch {
					case first:
						if mx == 0 {
							p = int(initial)
						} else {
							p = int(c.smp[i-1])
						}
					case mx == 0:
						p = int(c.smp[i-c.bw])
					default:
						p = predict(psv, int(c.smp[i-1]), int(c.smp[i-c.bw]), int(c.smp[i-c.bw-1]))
					}
					c.smp[i] = uint16(p + int(diff))
				}
			}
		} else {
			for mx := 0; mx < mcusx; mx++ {
				for _, c := range sc.comps {
					for by := 0; by < c.v; by++ {
						y := my*c.v + by
						first := y == segStart*c.v
						for bx := 0; bx < c.h; bx++ {
							x := mx*c.h + bx
							diff, err := losslessDiff(br, c.td)
							if err != nil {
								return err
							}
							i := y*c.bw + x
							var p int
							switch {
							case first:
								if x == 0 {
									p = int(initial)
								} else {
									p = int(c.smp[i-1])
								}
							case x == 0:
								p = int(c.smp[i-c.bw])
							default:
								p = predict(psv, int(c.smp[i-1]), int(c.smp[i-c.bw]), int(c.smp[i-c.bw-1]))
							}
							c.smp[i] = uint16(p + int(diff))
						}
					}
				}
			}
		}
		if br.overrun() > maxOverrun {
			return corrupt("entropy-coded data ends after %d of %d lines", my, mcusy)
		}
	}
	d.pos = br.pos
	return nil
}

// losslessDiff decodes one difference (T.81 H.1.2.2): category 16 means 32768 with no extra bits.
// The table lookup and the extension are written out here: this is the innermost loop.
func losslessDiff(br *bitReader, t *huffTable) (int32, error) {
	if br.n < 32 {
		br.fill()
	}
	var s uint
	if e := t.lut[br.acc>>(64-lutBits)]; e != 0 {
		br.acc <<= e >> 8
		br.n -= uint(e >> 8)
		s = uint(e & 0xFF)
	} else {
		v, err := br.decodeSlow(t)
		if err != nil {
			return 0, err
		}
		s = uint(v)
	}
	switch {
	case s == 0:
		return 0, nil
	case s == 16:
		return 32768, nil
	case s > 16:
		return 0, corrupt("lossless difference category %d", s)
	}
	v := int32(br.acc >> (64 - s))
	br.acc <<= s
	br.n -= s
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v, nil
}

// predict computes prediction psv from the left (a), above (b) and above-left (c) samples
// (T.81 Table H.1).
func predict(psv, a, b, c int) int {
	switch psv {
	case 1:
		return a
	case 2:
		return b
	case 3:
		return c
	case 4:
		return a + b - c
	case 5:
		return a + (b-c)>>1
	case 6:
		return b + (a-c)>>1
	default:
		return (a + b) >> 1
	}
}
