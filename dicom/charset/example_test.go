package charset_test

import (
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/charset"
)

func ExampleSet_DecodePN() {
	// (0008,0005) is `\ISO 2022 IR 87`: PS3.5 Example H.3-1.
	s, err := charset.New([]string{"", "ISO 2022 IR 87"})
	if err != nil {
		panic(err)
	}
	name, err := s.DecodePN([]byte("Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"))
	fmt.Println(name, err)
	// Output: Yamada^Tarou=山田^太郎 <nil>
}

func ExampleSet_EncodePN() {
	s, _ := charset.New([]string{"", "ISO 2022 IR 149"})
	b, err := s.EncodePN("Hong^Gildong=洪^吉洞")
	fmt.Printf("%q %v\n", b, err)
	// Output: "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7" <nil>
}

func ExampleLenient() {
	s, fixes := charset.Lenient([]string{"ISO-IR 100"})
	fmt.Println(strings.Join(s.Terms(), `\`))
	for _, f := range fixes {
		fmt.Println(f)
	}
	// Output:
	// ISO_IR 100
	// value 1 "ISO-IR 100" read as "ISO_IR 100": misspelled Defined Term
}
