package kinesisput

import (
	"testing"

	"github.com/resingest/resingest/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
