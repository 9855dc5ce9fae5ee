package certify

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Check is one certification check and what it measured.
type Check struct {
	Class   string   `json:"class"` // security, ha, conflicts, state
	Name    string   `json:"name"`
	OK      bool     `json:"ok"`
	Figure  string   `json:"figure"`           // the measured figure, one line
	Detail  []string `json:"detail,omitempty"` // what was tried and answered
	Seconds float64  `json:"seconds"`          // how long the check ran
}

// Report is every check of one run.
type Report struct {
	OK      bool    `json:"ok"`
	Checks  []Check `json:"checks"`
	Seconds float64 `json:"seconds"`
}

// Failed counts the failed checks.
func (r Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// Text writes the report for people, one line per check.
func (r Report) Text(w io.Writer) {
	for _, c := range r.Checks {
		mark := "PASS"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-10s %-24s %s\n", mark, c.Class, c.Name, c.Figure)
		if !c.OK {
			for _, d := range c.Detail {
				fmt.Fprintf(w, "      %s\n", d)
			}
		}
	}
	fmt.Fprintf(w, "\n%d checks, %d failed, in %.1fs\n", len(r.Checks), r.Failed(), r.Seconds)
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class     string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// JUnit writes the report as JUnit XML: one testsuite, one testcase per
// check (classname certify.CLASS), a failure element for a failed one.
func (r Report) JUnit(w io.Writer) error {
	s := junitSuite{Name: "fleetctl certify", Tests: len(r.Checks), Failures: r.Failed(), Time: secs(r.Seconds)}
	for _, c := range r.Checks {
		jc := junitCase{Class: "certify." + c.Class, Name: c.Name, Time: secs(c.Seconds),
			SystemOut: c.Figure + "\n" + strings.Join(c.Detail, "\n")}
		if !c.OK {
			jc.Failure = &junitFailure{Message: c.Figure, Body: strings.Join(c.Detail, "\n")}
		}
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }
