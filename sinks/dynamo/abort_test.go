package dynamo

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/resingest/resingest/internal/testenv"
)

// TestServerSurvivesAbortedRequests: the pipeline's crash tests SIGKILL
// workers in the middle of DynamoDB requests. The local server must go on
// serving (dynalite alone would exit on such an abort; scripts/dev-services
// keeps it up), or every test after the kill fails.
func TestServerSurvivesAbortedRequests(t *testing.T) {
	u, err := url.Parse(testenv.DynamoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-amz-json-1.0\r\n" +
			"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 1000\r\n\r\n{\"Lim"))
		time.Sleep(100 * time.Millisecond)
		_ = conn.(*net.TCPConn).SetLinger(0) // reset, as a killed process's socket is
		conn.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := testClient(t).ListTables(testContext(t), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("the DynamoDB server stopped answering after aborted requests: %v", err)
	}
}
