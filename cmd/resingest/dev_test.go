package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCheckListenAddr(t *testing.T) {
	tests := []struct {
		addr        string
		wantErr     bool
		unspecified bool
	}{
		{addr: "127.0.0.1:0"},
		{addr: "localhost:59092"},
		{addr: "[::1]:58002"},
		{addr: ":9092", wantErr: true, unspecified: true},
		{addr: "0.0.0.0:9092", wantErr: true, unspecified: true},
		{addr: "[::]:9092", wantErr: true, unspecified: true},
		{addr: "127.0.0.1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := checkListenAddr(tt.addr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkListenAddr(%q) = %v, want error %v", tt.addr, err, tt.wantErr)
			}
			if got := errors.Is(err, errUnspecifiedHost); got != tt.unspecified {
				t.Fatalf("errors.Is(%v, errUnspecifiedHost) = %v, want %v", err, got, tt.unspecified)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestDevKafkaProduceConsume(t *testing.T) {
	t.Parallel()
	const partitions = 3
	cluster, err := startDevKafka("127.0.0.1:0", partitions, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addr := cluster.ListenAddrs()[0]

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	const topic = "dev-test-topic"
	client, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	want := &kgo.Record{Topic: topic, Key: []byte("k1"), Value: []byte("hello kafka")}
	if err := client.ProduceSync(ctx, want).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	fetches := client.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("poll: %v", err)
	}
	got := fetches.Records()
	if len(got) != 1 || !bytes.Equal(got[0].Key, want.Key) || !bytes.Equal(got[0].Value, want.Value) {
		t.Fatalf("consumed %d records, first %+v; want one record %q=%q", len(got), got, want.Key, want.Value)
	}

	// Independent clients bootstrap from the advertised address, so it must
	// be the listen address, and auto-created topics get --partitions.
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, client)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(resp.Brokers) != 1 {
		t.Fatalf("metadata lists %d brokers, want 1", len(resp.Brokers))
	}
	advertised := net.JoinHostPort(resp.Brokers[0].Host, strconv.Itoa(int(resp.Brokers[0].Port)))
	if advertised != addr {
		t.Errorf("broker advertises %s, want listen address %s", advertised, addr)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != partitions {
		t.Errorf("topic metadata %+v, want %d partitions", resp.Topics, partitions)
	}
}

func TestDevKafkaRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name       string
		addr       string
		partitions int
	}{
		{name: "unspecified host", addr: ":0", partitions: 1},
		{name: "zero partitions", addr: "127.0.0.1:0", partitions: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster, err := startDevKafka(tt.addr, tt.partitions, discardLogger())
			if err == nil {
				cluster.Close()
				t.Fatalf("startDevKafka(%q, %d) succeeded, want error", tt.addr, tt.partitions)
			}
		})
	}
}

func TestDevS3PutGet(t *testing.T) {
	t.Parallel()
	srv, err := startDevS3("127.0.0.1:0", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
		// Close is idempotent.
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + srv.Addr()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	const bucket, key = "dev-test-bucket", "2026/01/02/hotel/obj.xml.gz"
	body := []byte("<OTA_HotelResNotifRQ/>")

	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("got %q, want %q", got, body)
	}

	if _, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")}); err == nil {
		t.Fatal("get of a missing key succeeded, want NoSuchKey")
	}
}
