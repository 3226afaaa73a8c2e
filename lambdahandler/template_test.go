package lambdahandler_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/resingest/resingest/internal/testenv"
	"github.com/resingest/resingest/lambdahandler"
	"github.com/resingest/resingest/sinks/dynamo"
)

const templatePath = "../deploy/template.yaml"

// cfn decodes a CloudFormation/SAM YAML node into maps, slices and
// scalars, turning the short-form intrinsic tags into their long form
// (!Ref X -> {"Ref": X}, !GetAtt A.B -> {"Fn::GetAtt": [A, B]}, !Sub ...
// -> {"Fn::Sub": ...}), which yaml.v3 cannot do by itself.
func cfn(n *yaml.Node) (any, error) {
	if n.Kind == yaml.DocumentNode {
		return cfn(n.Content[0])
	}
	if n.Kind == yaml.AliasNode {
		return cfn(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := cfn(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := cfn(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	default:
		var scalar any
		plain := *n
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			plain.Tag = "" // decode the value by its own look
		}
		if err := plain.Decode(&scalar); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		v = scalar
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	switch fn := n.Tag[1:]; fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

// loadTemplate parses deploy/template.yaml.
func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	v, err := cfn(&doc)
	if err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", templatePath)
	}
	return m
}

// at walks a path of map keys and slice indexes; nil when absent.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

// resourcesOfType returns the logical ids of the template's resources of
// type typ, sorted.
func resourcesOfType(tpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range at(tpl, "Resources").(map[string]any) {
		if at(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// refTarget is the resource an intrinsic {"Ref": X} or {"Fn::GetAtt":
// [X, ...]} points to ("" if v is neither).
func refTarget(v any) string {
	if s, ok := at(v, "Ref").(string); ok {
		return s
	}
	if s, ok := at(v, "Fn::GetAtt", 0).(string); ok {
		return s
	}
	return ""
}

// walk calls f on every value of v, depth first.
func walk(v any, f func(any)) {
	f(v)
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			walk(c, f)
		}
	case []any:
		for _, c := range x {
			walk(c, f)
		}
	}
}

// TestTemplate checks the pieces of deploy/template.yaml the handler
// relies on.
func TestTemplate(t *testing.T) {
	tpl := loadTemplate(t)
	resources, _ := at(tpl, "Resources").(map[string]any)
	if at(tpl, "Transform") != "AWS::Serverless-2016-10-31" || len(resources) == 0 {
		t.Fatalf("not a SAM template with resources")
	}
	fns := resourcesOfType(tpl, "AWS::Serverless::Function")
	if len(fns) != 1 {
		t.Fatalf("functions %v, want exactly one", fns)
	}
	fn := fns[0]
	props := at(resources, fn, "Properties")
	var esm any
	for _, ev := range at(props, "Events").(map[string]any) {
		if at(ev, "Type") == "Kinesis" {
			esm = at(ev, "Properties")
		}
	}

	t.Run("references resolve", func(t *testing.T) {
		params, _ := at(tpl, "Parameters").(map[string]any)
		conds, _ := at(tpl, "Conditions").(map[string]any)
		walk(tpl, func(v any) {
			if id := refTarget(v); id != "" && resources[id] == nil && params[id] == nil && !strings.HasPrefix(id, "AWS::") {
				t.Errorf("reference to %q: no such resource or parameter", id)
			}
			for _, c := range []any{at(v, "Condition"), at(v, "Fn::If", 0)} {
				if c, ok := c.(string); ok && conds[c] == nil {
					t.Errorf("condition %q is not defined", c)
				}
			}
		})
	})

	t.Run("function", func(t *testing.T) {
		for key, want := range map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap"} {
			if got := at(props, key); got != want {
				t.Errorf("%s: %s = %v, want %v", fn, key, got, want)
			}
		}
		if got := at(props, "Architectures"); !slices.Equal(toStrings(got), []string{"arm64"}) {
			t.Errorf("%s: Architectures %v, want [arm64]", fn, got)
		}
		vars, _ := at(props, "Environment", "Variables").(map[string]any)
		for _, name := range []string{"RESINGEST_PG_URL", "RESINGEST_DYNAMO_TABLE", "RESINGEST_SINKS", "RESINGEST_KMS_KEY_ID"} {
			if vars[name] == nil {
				t.Errorf("%s: environment lacks %s", fn, name)
			}
		}
		for name := range vars {
			if !strings.HasPrefix(name, "RESINGEST_") {
				t.Errorf("%s: environment variable %s: the command reads RESINGEST_* only", fn, name)
			}
		}
		if refTarget(vars["RESINGEST_DYNAMO_TABLE"]) != "ReservationsTable" {
			t.Errorf("RESINGEST_DYNAMO_TABLE does not name the template's table")
		}
		// The deadline margin must leave the function time to work.
		margin := lambdahandler.DefaultDeadlineMargin
		if s, ok := vars["RESINGEST_DEADLINE_MARGIN"].(string); ok {
			var err error
			if margin, err = time.ParseDuration(s); err != nil {
				t.Errorf("RESINGEST_DEADLINE_MARGIN: %v", err)
			}
		}
		timeout, _ := at(tpl, "Parameters", refTarget(at(props, "Timeout")), "Default").(int)
		if time.Duration(timeout)*time.Second < 4*margin {
			t.Errorf("function timeout %ds leaves little beyond the deadline margin %s", timeout, margin)
		}
	})

	t.Run("event source mapping", func(t *testing.T) {
		if esm == nil {
			t.Fatalf("%s has no Kinesis event", fn)
		}
		if !slices.Contains(toStrings(at(esm, "FunctionResponseTypes")), "ReportBatchItemFailures") {
			t.Errorf("FunctionResponseTypes lacks ReportBatchItemFailures: the partial batch response would be ignored")
		}
		if at(esm, "BisectBatchOnFunctionError") != true {
			t.Errorf("BisectBatchOnFunctionError is not true")
		}
		for _, key := range []string{"MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "StartingPosition"} {
			if at(esm, key) == nil {
				t.Errorf("%s is not set", key)
			}
		}
		if typ := at(resources, refTarget(at(esm, "Stream")), "Type"); typ != "AWS::Kinesis::Stream" {
			t.Errorf("Stream is a %v, want the template's AWS::Kinesis::Stream", typ)
		}
		dest := at(esm, "DestinationConfig", "OnFailure")
		if typ := at(resources, refTarget(at(dest, "Destination")), "Type"); typ != "AWS::SQS::Queue" || at(dest, "Type") != "SQS" {
			t.Errorf("OnFailure destination %v is not the template's SQS queue", dest)
		}
	})

	t.Run("alarms", func(t *testing.T) {
		found := map[string]bool{}
		for _, id := range resourcesOfType(tpl, "AWS::CloudWatch::Alarm") {
			p := at(resources, id, "Properties")
			if at(p, "Namespace") != "AWS/Lambda" {
				continue
			}
			if at(p, "Dimensions", 0, "Name") != "FunctionName" || refTarget(at(p, "Dimensions", 0, "Value")) != fn {
				t.Errorf("alarm %s does not watch %s", id, fn)
				continue
			}
			if actions, _ := at(p, "AlarmActions").([]any); len(actions) == 0 {
				t.Errorf("alarm %s notifies nobody", id)
			}
			found[at(p, "MetricName").(string)] = true
		}
		for _, metric := range []string{"Errors", "Throttles", "Duration", "IteratorAge"} {
			if !found[metric] {
				t.Errorf("no alarm on the function's %s", metric)
			}
		}
	})
}

func toStrings(v any) []string {
	s, _ := v.([]any)
	var out []string
	for _, x := range s {
		if str, ok := x.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// createTableInput is the CreateTable request for the template's table.
func createTableInput(t *testing.T, props any, name string) *dynamodb.CreateTableInput {
	t.Helper()
	keys := func(v any) []types.KeySchemaElement {
		var ks []types.KeySchemaElement
		for _, k := range v.([]any) {
			ks = append(ks, types.KeySchemaElement{
				AttributeName: aws.String(at(k, "AttributeName").(string)), KeyType: types.KeyType(at(k, "KeyType").(string)),
			})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingMode(at(props, "BillingMode").(string)),
		KeySchema:   keys(at(props, "KeySchema")),
	}
	for _, a := range at(props, "AttributeDefinitions").([]any) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(at(a, "AttributeName").(string)), AttributeType: types.ScalarAttributeType(at(a, "AttributeType").(string)),
		})
	}
	for _, g := range at(props, "GlobalSecondaryIndexes").([]any) {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(at(g, "IndexName").(string)),
			KeySchema:  keys(at(g, "KeySchema")),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(at(g, "Projection", "ProjectionType").(string))},
		})
	}
	return in
}

// TestTemplateTable creates the template's DynamoDB table on the local
// DynamoDB and has sinks/dynamo's EnsureTable, which checks the key schema
// and indexes the sink writes and the API reads, accept it. A table keyed
// differently must be refused, so the check is known to bite.
func TestTemplateTable(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tables := resourcesOfType(tpl, "AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("DynamoDB tables %v, want one", tables)
	}
	props := at(tpl, "Resources", tables[0], "Properties")
	tests := []struct {
		name   string
		mutate func(*dynamodb.CreateTableInput)
		want   bool // accepted
	}{
		{name: "as in the template", mutate: func(*dynamodb.CreateTableInput) {}, want: true},
		{name: "index keyed differently", mutate: func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[1].KeySchema[1].AttributeName = aws.String("hotel_code")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			client, err := dynamo.NewClient(ctx, testenv.DynamoEndpoint(t))
			if err != nil {
				t.Fatal(err)
			}
			name := testenv.UniqueName("template")
			in := createTableInput(t, props, name)
			tt.mutate(in)
			if _, err := client.CreateTable(ctx, in); err != nil {
				t.Fatalf("create the template's table: %v", err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
					t.Errorf("delete table %s: %v", name, err)
				}
			})
			err = dynamo.EnsureTable(ctx, client, name)
			var schemaErr *dynamo.SchemaError
			switch {
			case tt.want && err != nil:
				t.Fatalf("EnsureTable refuses the template's table: %v", err)
			case !tt.want && !errors.As(err, &schemaErr):
				t.Fatalf("EnsureTable: %v, want a *dynamo.SchemaError", err)
			}
		})
	}
}
