package testenv

import (
	"os"
	"testing"
)

// SetAWSDefaults gives the AWS SDK dummy credentials and a region when none
// are set: the local DynamoDB, S3 and Kinesis servers want signed requests
// but check no signature. Call it from TestMain, before any test runs, so
// that tests can stay parallel (t.Setenv forbids that).
func SetAWSDefaults() {
	for name, value := range map[string]string{
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            "us-east-1",
	} {
		if os.Getenv(name) == "" {
			os.Setenv(name, value)
		}
	}
}

// Main is a TestMain for packages that talk to the local AWS stand-ins:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	SetAWSDefaults()
	os.Exit(m.Run())
}
