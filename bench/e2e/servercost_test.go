package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/sinks/dynamo"
)

// The cost a run puts on the stores' servers, next to the worker's own:
// the CPU time of the local Postgres server (postmaster and every backend)
// and of dynalite, and the DynamoDB write units AWS would bill.

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ, 100 on every
// Linux architecture Go supports).
const clockTicks = 100

// serverPIDs are the process ids of the local servers, from the pid files
// scripts/dev-services keeps (.dev/run/NAME.pid at the repository's top).
// A server not started by it has none, and its cost is not reported.
func serverPIDs() map[string]int {
	pids := map[string]int{}
	for _, name := range []string{"postgres", "dynalite"} {
		if pid, ok := testenv.ServicePID(name); ok {
			pids[name] = pid
		}
	}
	return pids
}

// procCPU is the CPU time a process and the children it has reaped have
// used (utime+stime+cutime+cstime), plus that of its live children: for
// the postmaster, the server as a whole, including backends that ended.
func procCPU(pid int) (time.Duration, error) {
	own, err := statTicks(pid)
	if err != nil {
		return 0, err
	}
	total := own
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if ppid, err := parentOf(child); err != nil || ppid != pid {
			continue
		}
		if t, err := statTicks(child); err == nil { // it may have ended meanwhile
			total += t
		}
	}
	return time.Duration(total) * time.Second / clockTicks, nil
}

// statFields are the fields of /proc/PID/stat after the command name,
// which may itself hold spaces and parentheses.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(s[i+1:]), nil
}

func parentOf(pid int) (int, error) {
	f, err := statFields(pid)
	if err != nil || len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	return strconv.Atoi(f[1]) // field 4: ppid
}

// statTicks is utime+stime+cutime+cstime (fields 14-17) in clock ticks.
func statTicks(pid int) (int64, error) {
	f, err := statFields(pid)
	if err != nil || len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	var sum int64
	for _, s := range f[11:15] { // fields 14-17, counted from field 3
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		sum += n
	}
	return sum, nil
}

// serverClock reads the servers' CPU time before and after a run.
type serverClock struct {
	pids  map[string]int
	start map[string]time.Duration
}

func startServerClock() *serverClock {
	c := &serverClock{pids: serverPIDs(), start: map[string]time.Duration{}}
	for name, pid := range c.pids {
		if t, err := procCPU(pid); err == nil {
			c.start[name] = t
		}
	}
	return c
}

// used returns the CPU time each server spent since the clock started.
func (c *serverClock) used() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, t0 := range c.start {
		if t, err := procCPU(c.pids[name]); err == nil {
			out[name] = t - t0
		}
	}
	return out
}

// writeUnits estimates the DynamoDB write capacity units one write of each
// item of the table costs as AWS bills it: ceil(item size / 1 KB) for the
// table, plus, for every global secondary index the item appears in,
// ceil(index entry size / 1 KB), the entry being the projected attributes,
// the index and table keys and 100 bytes. Item sizes follow AWS's rules
// (attribute names and values in UTF-8 bytes, numbers by significant
// digits, 3 bytes plus 1 per element for lists and maps). It returns the
// mean over the items and the mean item size in bytes: every message is
// one conditional write of its reservation's item, so the mean is the cost
// per message (a conditional write that fails is billed too).
func writeUnits(ctx context.Context, c *dynamodb.Client, table string) (perItem, meanBytes float64, err error) {
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return 0, 0, err
	}
	var tableKeys []string
	for _, k := range desc.Table.KeySchema {
		tableKeys = append(tableKeys, aws.ToString(k.AttributeName))
	}
	var items, units, bytes float64
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, it := range page.Items {
			size := itemSize(it)
			items++
			bytes += float64(size)
			units += math.Ceil(float64(size) / 1024)
			for _, ix := range desc.Table.GlobalSecondaryIndexes {
				if entry, ok := indexEntrySize(it, ix, tableKeys); ok {
					units += math.Ceil(float64(entry) / 1024)
				}
			}
		}
	}
	if items == 0 {
		return 0, 0, nil
	}
	return units / items, bytes / items, nil
}

// indexEntrySize is the size of it's entry in the index, and false when
// it lacks the index's keys (a sparse index holds no entry for it).
func indexEntrySize(it map[string]types.AttributeValue, ix types.GlobalSecondaryIndexDescription, tableKeys []string) (int, bool) {
	keys := map[string]bool{}
	for _, k := range ix.KeySchema {
		name := aws.ToString(k.AttributeName)
		if _, ok := it[name]; !ok {
			return 0, false
		}
		keys[name] = true
	}
	for _, k := range tableKeys {
		keys[k] = true
	}
	const overhead = 100
	if ix.Projection != nil && ix.Projection.ProjectionType == types.ProjectionTypeAll {
		return itemSize(it) + overhead, true
	}
	if ix.Projection != nil {
		for _, a := range ix.Projection.NonKeyAttributes {
			keys[a] = true
		}
	}
	sub := map[string]types.AttributeValue{}
	for k := range keys {
		if v, ok := it[k]; ok {
			sub[k] = v
		}
	}
	return itemSize(sub) + overhead, true
}

// itemSize is an item's size by AWS's rules (the sink's own measure).
func itemSize(it map[string]types.AttributeValue) int { return dynamo.ItemSize(it) }

// reportServerCost adds the servers' CPU per 1,000 messages and, when the
// run wrote DynamoDB, the estimated write units per message.
func reportServerCost(b *testing.B, name string, used map[string]time.Duration, messages int, wcu, itemBytes float64) {
	b.Helper()
	if len(used) == 0 {
		b.Logf("%s: no server CPU figures (the services were not started by scripts/dev-services)", name)
	}
	for _, server := range []string{"postgres", "dynalite"} {
		t, ok := used[server]
		if !ok {
			continue
		}
		per := t.Seconds() / float64(messages) * 1000
		b.ReportMetric(per, server+"-cpu-s/1000msgs")
		b.Logf("%s: %s server used %.2f CPU-s, %.3f per 1,000 messages", name, server, t.Seconds(), per)
	}
	if wcu > 0 {
		b.ReportMetric(wcu, "est-WCU/msg")
		b.ReportMetric(itemBytes, "item-bytes")
		b.Logf("%s: DynamoDB items %.0f bytes on average; estimated %.2f write units per message (table and indexes)", name, itemBytes, wcu)
	}
}

func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string: name and value bytes", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "H1#Ä"}}, 2 + 5},
		{"number: a byte per two significant digits plus one", map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "12345"}}, 1 + 4},
		{"number: zeroes trimmed", map[string]types.AttributeValue{"v": &types.AttributeValueMemberN{Value: "1000"}}, 1 + 2},
		{"boolean and null", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}, "n": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"list: 3 bytes plus 1 per element", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "ab"}, &types.AttributeValueMemberS{Value: "c"}}}}, 1 + 3 + 1 + 2 + 1 + 1},
		{"map: keys count like names", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"key": &types.AttributeValueMemberS{Value: "val"}}}}, 1 + 3 + 1 + 3 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := itemSize(tt.item); got != tt.want {
				t.Errorf("itemSize = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestIndexEntrySize(t *testing.T) {
	it := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "H1#C1"}, "sk": &types.AttributeValueMemberS{Value: "R"},
		"confirmation": &types.AttributeValueMemberS{Value: "C1"}, "hotel_code": &types.AttributeValueMemberS{Value: "H1"},
		"payload": &types.AttributeValueMemberS{Value: strings.Repeat("x", 2000)},
	}
	keys := func(names ...string) []types.KeySchemaElement {
		var out []types.KeySchemaElement
		for _, n := range names {
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(n)})
		}
		return out
	}
	all := types.GlobalSecondaryIndexDescription{KeySchema: keys("hotel_code"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}
	if got, ok := indexEntrySize(it, all, []string{"pk", "sk"}); !ok || got != itemSize(it)+100 {
		t.Errorf("ALL projection: %d %v, want the item and 100 bytes", got, ok)
	}
	keysOnly := types.GlobalSecondaryIndexDescription{KeySchema: keys("confirmation", "hotel_code"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}}
	want := len("pk") + 5 + len("sk") + 1 + len("confirmation") + 2 + len("hotel_code") + 2 + 100
	if got, ok := indexEntrySize(it, keysOnly, []string{"pk", "sk"}); !ok || got != want {
		t.Errorf("KEYS_ONLY projection: %d %v, want %d", got, ok, want)
	}
	sparse := types.GlobalSecondaryIndexDescription{KeySchema: keys("guest_id"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}
	if _, ok := indexEntrySize(it, sparse, []string{"pk", "sk"}); ok {
		t.Errorf("an item without the index key has an entry in a sparse index")
	}
}

// TestProcCPU: the CPU time read from /proc follows the kernel's own
// account (getrusage) of this process: busy work until getrusage says
// 200 ms more were used (however loaded the machine is) shows in procCPU
// too, within the clock tick.
func TestProcCPU(t *testing.T) {
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := rusage()
	deadline := time.Now().Add(30 * time.Second)
	x := 0
	for rusage()-start < 200*time.Millisecond && time.Now().Before(deadline) {
		for range 100_000 {
			x++
		}
	}
	used := rusage() - start
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < used-3*time.Second/clockTicks {
		t.Errorf("getrusage says %v of CPU were used, /proc says %v (%d loops)", used, got, x)
	}
}
