package certify

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

func TestReportJUnitAndJSON(t *testing.T) {
	r := Report{Seconds: 1.5, Checks: []Check{
		{Class: "security", Name: "role-limits", OK: true, Figure: "5 of 5 refused", Seconds: 0.25},
		{Class: "ha", Name: "failover", Figure: "no other node led", Detail: []string{"docker kill a <&>"}, Seconds: 1},
	}}
	var b bytes.Buffer
	if err := r.JUnit(&b); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s := got.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || s.Time != "1.500" || len(s.Cases) != 2 {
		t.Fatalf("suite %+v", s)
	}
	if c := s.Cases[0]; c.Class != "certify.security" || c.Name != "role-limits" || c.Failure != nil || c.Time != "0.250" {
		t.Errorf("case 0 %+v", c)
	}
	if c := s.Cases[1]; c.Failure == nil || c.Failure.Message != "no other node led" || !strings.Contains(c.Failure.Body, "<&>") {
		t.Errorf("case 1 %+v", c)
	}
	j, _ := json.Marshal(r)
	if !strings.Contains(string(j), `"class":"ha","name":"failover","ok":false,"figure":"no other node led"`) {
		t.Errorf("json %s", j)
	}
	var txt bytes.Buffer
	r.Text(&txt)
	if !strings.Contains(txt.String(), "FAIL  ha") || !strings.Contains(txt.String(), "2 checks, 1 failed") {
		t.Errorf("text %s", txt.String())
	}
}
