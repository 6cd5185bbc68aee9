package dimse

import (
	"sort"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
)

// NativeSyntaxes are the transfer syntaxes proposed for commands and identifiers.
var NativeSyntaxes = []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}

// Query/Retrieve information models (PS3.4 C.6).
const (
	PatientRootFind = uid.PatientRootQueryRetrieveInformationModelFind
	PatientRootMove = uid.PatientRootQueryRetrieveInformationModelMove
	PatientRootGet  = uid.PatientRootQueryRetrieveInformationModelGet
	StudyRootFind   = uid.StudyRootQueryRetrieveInformationModelFind
	StudyRootMove   = uid.StudyRootQueryRetrieveInformationModelMove
	StudyRootGet    = uid.StudyRootQueryRetrieveInformationModelGet
)

// EchoProposal proposes the Verification SOP class.
func EchoProposal() Proposal {
	return Proposal{AbstractSyntax: VerificationSOPClass, TransferSyntaxes: NativeSyntaxes}
}

// Proposals returns one proposal per abstract syntax with the native transfer syntaxes.
func Proposals(abstractSyntaxes ...string) []Proposal {
	out := make([]Proposal, len(abstractSyntaxes))
	for i, as := range abstractSyntaxes {
		out[i] = Proposal{AbstractSyntax: as, TransferSyntaxes: NativeSyntaxes}
	}
	return out
}

// StorageSOPClasses returns the storage SOP classes of the UID registry that are not retired.
func StorageSOPClasses() []string {
	var out []string
	for _, info := range uid.All() {
		k := info.Keyword
		if info.Type == uid.TypeSOPClass && !info.Retired && (strings.HasSuffix(k, "Storage") ||
			strings.HasSuffix(k, "StorageForPresentation") || strings.HasSuffix(k, "StorageForProcessing")) {
			out = append(out, info.UID)
		}
	}
	return out
}

// StorageProposals proposes each (SOP class, transfer syntax) pair in a context of its own, so
// that every instance can go exactly as stored: an acceptor answers each context with one
// transfer syntax, and a context offering two would let it pick the one the data is not in.
// pairs maps SOP class → transfer syntaxes (duplicates are ignored). At most 128 contexts fit
// one association: the caller splits larger sets.
func StorageProposals(pairs map[string][]string) []Proposal {
	classes := make([]string, 0, len(pairs))
	for c := range pairs {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var out []Proposal
	for _, c := range classes {
		seen := map[string]bool{}
		syntaxes := pairs[c]
		if len(syntaxes) == 0 {
			syntaxes = NativeSyntaxes
		}
		for _, ts := range syntaxes {
			if seen[ts] {
				continue
			}
			seen[ts] = true
			out = append(out, Proposal{AbstractSyntax: c, TransferSyntaxes: []string{ts}})
		}
	}
	return out
}

// GetProposals proposes a C-GET information model and the storage classes it may bring back,
// with the SCP role selected (PS3.4 C.4.3.3), one context per (class, transfer syntax) so that
// the peer can send each instance as it holds it, within the 128 contexts of an association:
// classes are taken in order until the budget is spent. Syntaxes default to the native ones.
func GetProposals(model string, syntaxes []string, storageClasses ...string) []Proposal {
	if len(syntaxes) == 0 {
		syntaxes = NativeSyntaxes
	}
	if len(storageClasses) == 0 {
		storageClasses = CommonStorageClasses
	}
	out := []Proposal{{AbstractSyntax: model, TransferSyntaxes: NativeSyntaxes}}
	for _, c := range storageClasses {
		if len(out)+len(syntaxes) > 128 {
			break
		}
		for _, ts := range syntaxes {
			out = append(out, Proposal{AbstractSyntax: c, TransferSyntaxes: []string{ts}, SelectRoles: true, SCU: false, SCP: true})
		}
	}
	return out
}

// CommonStorageClasses are the storage SOP classes of the modalities a PACS meets daily.
var CommonStorageClasses = []string{
	uid.CTImageStorage, uid.EnhancedCTImageStorage, uid.MRImageStorage, uid.EnhancedMRImageStorage,
	uid.UltrasoundImageStorage, uid.UltrasoundMultiFrameImageStorage, uid.ComputedRadiographyImageStorage,
	uid.DigitalXRayImageStorageForPresentation, uid.DigitalXRayImageStorageForProcessing,
	uid.DigitalMammographyXRayImageStorageForPresentation, uid.DigitalMammographyXRayImageStorageForProcessing,
	uid.XRayAngiographicImageStorage, uid.XRayRadiofluoroscopicImageStorage, uid.PositronEmissionTomographyImageStorage,
	uid.NuclearMedicineImageStorage, uid.SecondaryCaptureImageStorage, uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
	uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage, uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
	uid.MultiFrameSingleBitSecondaryCaptureImageStorage,
	uid.RTImageStorage, uid.RTDoseStorage, uid.RTStructureSetStorage, uid.RTPlanStorage,
	uid.BasicTextSRStorage, uid.EnhancedSRStorage, uid.ComprehensiveSRStorage, uid.KeyObjectSelectionDocumentStorage,
	uid.GrayscaleSoftcopyPresentationStateStorage, uid.EncapsulatedPDFStorage, uid.SegmentationStorage,
	uid.VLPhotographicImageStorage, uid.TwelveLeadECGWaveformStorage, uid.ParametricMapStorage,
}
