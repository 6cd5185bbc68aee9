package archive

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// ErrConvertTooLarge: an instance is larger than a conversion may hold in memory.
var ErrConvertTooLarge = errors.New("archive: instance too large to convert")

// Convert reads the stored instance st whole, as long as it is no larger than limit bytes, and
// returns it as a Part 10 file in transfer syntax to (File Meta updated), for a peer or client
// that does not take the stored syntax. Every front end converts through it.
func (s *Service) Convert(ctx context.Context, st *index.Stored, to string, limit int64, opts transcode.Options) (*dicom.File, error) {
	if st.Size > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than the %d bytes a conversion may hold", ErrConvertTooLarge, st.SOPInstanceUID, st.Size, limit)
	}
	obj, err := s.Open(ctx, st)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	if obj.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than the %d bytes a conversion may hold", ErrConvertTooLarge, st.SOPInstanceUID, obj.Size(), limit)
	}
	f, err := dicom.Read(io.NewSectionReader(obj, 0, obj.Size()), dicom.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: read %s to convert it: %w", ErrUnavailable, st.SOPInstanceUID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := transcode.File(f, to, opts)
	if err != nil {
		return nil, fmt.Errorf("convert %s from %s to %s: %w", st.SOPInstanceUID, f.Syntax.UID, to, err)
	}
	return out, nil
}
