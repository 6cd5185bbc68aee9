package dicom

import (
	"bytes"
	"fmt"
)

// Diff compares two data sets element by element (tags, VRs, values, items and fragments) and
// describes the first difference, or returns "" when they are equal. Odd values compare equal to
// their padded form (with their VR's padding byte); group length values (gggg,0000) are not
// compared, as writers recompute them.
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
		case x.VR != y.VR && !ignoreVR:
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
