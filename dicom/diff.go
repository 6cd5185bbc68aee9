package dicom

import (
	"bytes"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Diff compares two data sets element by element (tags, VRs, values, items and fragments) and
// describes the first difference, or returns "" when they are equal. Odd values compare equal to
// their padded form (with their VR's padding byte); the values and VRs of group lengths
// (gggg,0000) are not compared, as writers recompute them as UL (PS3.5 7.2), and a value too
// long for its VR's 16-bit length compares equal to the same value as UN.
func Diff(a, b *Dataset) string {
	return diff(a, b, "", false)
}

// DiffValues is Diff without comparing VRs: for data sets that went through Implicit VR, where
// VRs come from the dictionary.
func DiffValues(a, b *Dataset) string {
	return diff(a, b, "", true)
}

func diff(a, b *Dataset, path string, ignoreVR bool) string {
	if len(a.Elements) != len(b.Elements) {
		return fmt.Sprintf("%s: %d elements vs %d", pathOr(path), len(a.Elements), len(b.Elements))
	}
	for i := range a.Elements {
		x, y := &a.Elements[i], &b.Elements[i]
		p := path + x.Tag.String()
		switch {
		case x.Tag != y.Tag:
			return fmt.Sprintf("%s: tag %s vs %s", pathOr(path), x.Tag, y.Tag)
		case x.VR != y.VR && !ignoreVR && !x.Tag.IsGroupLength() && !writtenAsUN(x, y) && !writtenAsUN(y, x):
			// Two VR changes are the writer's normalisations, not differences: group lengths,
			// compared by neither VR nor value, are recomputed and written as UL (their VR in
			// PS3.5 7.2) whatever VR the input gave them; and see writtenAsUN.
			return fmt.Sprintf("%s: VR %s vs %s", p, x.VR, y.VR)
		case len(x.Items) != len(y.Items):
			return fmt.Sprintf("%s: %d items vs %d", p, len(x.Items), len(y.Items))
		case len(x.Fragments) != len(y.Fragments):
			return fmt.Sprintf("%s: %d fragments vs %d", p, len(x.Fragments), len(y.Fragments))
		case !bytes.Equal(padded(x.Value, x.VR.Padding()), padded(y.Value, y.VR.Padding())) && !x.Tag.IsGroupLength():
			return fmt.Sprintf("%s: values differ (%d vs %d bytes)", p, len(x.Value), len(y.Value))
		}
		for j := range x.Items {
			if d := diff(x.Items[j], y.Items[j], fmt.Sprintf("%s[%d]", p, j), ignoreVR); d != "" {
				return d
			}
		}
		for j := range x.Fragments {
			if !bytes.Equal(padded(x.Fragments[j].Data, 0), padded(y.Fragments[j].Data, 0)) {
				return fmt.Sprintf("%s: fragment %d differs", p, j)
			}
		}
	}
	return ""
}

// writtenAsUN reports whether y may be x written in an explicit VR syntax: a value too long for
// the 16-bit length of x's VR can only be written as UN (PS3.5 6.2.2).
func writtenAsUN(x, y *Element) bool {
	return y.VR == vr.UN && !x.VR.LongLength() && x.Items == nil && x.Fragments == nil &&
		len(padded(x.Value, x.VR.Padding())) > 0xFFFE
}

// padded returns b made even with pad, the byte a writer adds to an odd-length value.
func padded(b []byte, pad byte) []byte {
	if len(b)&1 == 1 {
		return append(append([]byte(nil), b...), pad)
	}
	return b
}

func pathOr(p string) string {
	if p == "" {
		return "top level"
	}
	return p
}
