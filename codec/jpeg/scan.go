package jpeg

// maxOverrun is how many bits past the end of the entropy-coded data a scan may consume before
// the stream is judged truncated. Look-ahead is not consumption, so a well-formed scan needs none;
// the IJG library would go on with zero bits and a warning, we report the truncation.
const maxOverrun = 0

// dctScan decodes one scan of a sequential or progressive DCT frame into the coefficient arrays
// (T.81 F.2, G.2).
func (d *decoder) dctScan(sc *scan) error {
	if d.progressive {
		if err := d.checkProgressive(sc); err != nil {
			return err
		}
	} else if sc.ss != 0 || sc.se != 63 || sc.ah != 0 || sc.al != 0 {
		// Sequential scans carry all coefficients; tolerate odd values as the T.81 decoders do.
		sc.ss, sc.se, sc.ah, sc.al = 0, 63, 0, 0
	}
	dcFirst := sc.ss == 0 && sc.ah == 0
	for _, c := range sc.comps {
		if !c.qok {
			if !d.qtSet[c.tq] {
				return corrupt("component %d uses undefined quantization table %d", c.id, c.tq)
			}
			for k, v := range d.qt[c.tq] {
				c.q[k] = int32(v)
			}
			c.qok = true
		}
		if (!d.progressive || dcFirst) && c.td == nil {
			return corrupt("component %d uses an undefined DC Huffman table", c.id)
		}
		if (!d.progressive || sc.ss > 0) && c.ta == nil {
			return corrupt("component %d uses an undefined AC Huffman table", c.id)
		}
		c.pred = 0
		c.coded = true
	}
	d.eobrun = 0

	var mcusx, mcusy int
	single := len(sc.comps) == 1
	if single {
		c := sc.comps[0]
		mcusx, mcusy = ceilDiv(c.cw, 8), ceilDiv(c.ch, 8)
	} else {
		mcusx, mcusy = d.mcusx, d.mcusy
	}
	br := &bitReader{src: d.src, pos: d.pos}
	total := mcusx * mcusy
	rst := 0
	for m := 0; m < total; m++ {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			if err := br.restart(rst); err != nil {
				return err
			}
			rst++
			for _, c := range sc.comps {
				c.pred = 0
			}
			d.eobrun = 0
		}
		mx, my := m%mcusx, m/mcusx
		for _, c := range sc.comps {
			if single {
				if err := d.block(br, sc, c, c.coef[(my*c.bw+mx)*64:][:64]); err != nil {
					return err
				}
				continue
			}
			for by := 0; by < c.v; by++ {
				row := (my*c.v + by) * c.bw
				for bx := 0; bx < c.h; bx++ {
					if err := d.block(br, sc, c, c.coef[(row+mx*c.h+bx)*64:][:64]); err != nil {
						return err
					}
				}
			}
		}
		if mx == mcusx-1 && br.overrun() > maxOverrun {
			return corrupt("entropy-coded data ends after %d of %d MCUs", m, total)
		}
	}
	if br.overrun() > maxOverrun {
		return corrupt("entropy-coded data ends early")
	}
	d.pos = br.pos
	return nil
}

// checkProgressive validates the spectral selection and successive approximation of a
// progressive scan (T.81 G.1.1.1.1, G.1.1.1.2).
func (d *decoder) checkProgressive(sc *scan) error {
	if sc.se > 63 || sc.ss > sc.se || (sc.ss == 0 && sc.se != 0) || (sc.ss > 0 && len(sc.comps) != 1) ||
		sc.al > 13 || (sc.ah != 0 && sc.ah != sc.al+1) {
		return corrupt("progressive scan Ss=%d Se=%d Ah=%d Al=%d with %d components", sc.ss, sc.se, sc.ah, sc.al, len(sc.comps))
	}
	return nil
}

// block decodes one data unit of the scan into blk (natural order).
func (d *decoder) block(br *bitReader, sc *scan, c *component, blk []int16) error {
	if !d.progressive {
		return decodeSequential(br, c, blk)
	}
	switch {
	case sc.ss == 0 && sc.ah == 0: // DC first scan (G.1.2.1)
		s, err := br.decode(c.td)
		if err != nil {
			return err
		}
		if s > 16 {
			return corrupt("DC difference category %d", s)
		}
		c.pred += br.receiveExtend(uint(s))
		blk[0] = int16(c.pred << sc.al)
	case sc.ss == 0: // DC refinement
		if br.bit() {
			blk[0] |= 1 << sc.al
		}
	case sc.ah == 0:
		return d.acFirst(br, sc, c, blk)
	default:
		return d.acRefine(br, sc, c, blk)
	}
	return nil
}

// decodeSequential decodes a data unit of a sequential DCT scan (T.81 F.2.2).
func decodeSequential(br *bitReader, c *component, blk []int16) error {
	s, err := br.decode(c.td)
	if err != nil {
		return err
	}
	if s > 16 {
		return corrupt("DC difference category %d", s)
	}
	c.pred += br.receiveExtend(uint(s))
	blk[0] = int16(c.pred)
	at := c.ta
	for k := 1; k < 64; k++ {
		rs, err := br.decode(at)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break // EOB
			}
			k += 15 // ZRL
			continue
		}
		k += r
		if k > 63 {
			return corrupt("AC coefficient index beyond 63")
		}
		blk[unzig[k]] = int16(br.receiveExtend(s))
	}
	return nil
}

// acFirst decodes the first scan of a band of AC coefficients (T.81 G.1.2.2).
func (d *decoder) acFirst(br *bitReader, sc *scan, c *component, blk []int16) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := sc.ss; k <= sc.se; k++ {
		rs, err := br.decode(c.ta)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r == 15 {
				k += 15
				continue
			}
			d.eobrun = 1 << r
			if r > 0 {
				d.eobrun += br.bits(uint(r))
			}
			d.eobrun--
			break
		}
		k += r
		if k > 63 {
			return corrupt("AC coefficient index beyond 63")
		}
		blk[unzig[k]] = int16(br.receiveExtend(s) << sc.al)
	}
	return nil
}

// acRefine decodes a successive approximation refinement scan of AC coefficients (T.81 G.1.2.3).
func (d *decoder) acRefine(br *bitReader, sc *scan, c *component, blk []int16) error {
	p1 := int16(1) << sc.al
	m1 := int16(-1) << sc.al
	k := sc.ss
	refine := func(i int) {
		if br.bit() && blk[i]&p1 == 0 {
			if blk[i] >= 0 {
				blk[i] += p1
			} else {
				blk[i] += m1
			}
		}
	}
	if d.eobrun == 0 {
		for ; k <= sc.se; k++ {
			rs, err := br.decode(c.ta)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int(rs&15)
			var val int16
			if s != 0 {
				if s != 1 {
					return corrupt("refinement coefficient of size %d", s)
				}
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += br.bits(uint(r))
				}
				break
			}
			// Advance over already-nonzero coefficients (refining them) and r zero ones.
			for ; k <= sc.se; k++ {
				i := int(unzig[k])
				if blk[i] != 0 {
					refine(i)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if val != 0 && k <= 63 {
				blk[unzig[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= sc.se; k++ {
			i := int(unzig[k])
			if blk[i] != 0 {
				refine(i)
			}
		}
		d.eobrun--
	}
	return nil
}
