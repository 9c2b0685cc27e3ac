package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"sync"

	"github.com/frontdesk-chat/frontdesk"
	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/faq"
	"github.com/frontdesk-chat/frontdesk/intents"
)

// loadTopics reads the FAQ at path. When path does not exist and was not
// chosen explicitly, the FAQ embedded in the binary is used, so the binary
// runs from any directory. It returns where the topics came from.
func loadTopics(path string, explicit bool) ([]bot.Topic, string, error) {
	topics, err := faq.Load(path)
	if err == nil {
		return topics, path, nil
	}
	if !explicit && errors.Is(err, fs.ErrNotExist) {
		topics, err := faq.Parse("embedded faq.yaml", frontdesk.DefaultFAQ)
		return topics, "embedded faq.yaml", err
	}
	return nil, path, err
}

// trained remembers the router trained for each set of topics, so a
// reload that changes nothing the router sees (and every test server in a
// process) reuses it instead of training again: training takes seconds.
var trained struct {
	sync.Mutex
	m map[[32]byte]*bot.Knowledge
}

// maxTrained bounds the cache: a long-running server whose FAQ is edited
// often keeps only the last few routers.
const maxTrained = 4

// buildKnowledge trains the intent router on topics.
func buildKnowledge(topics []bot.Topic) (*bot.Knowledge, error) {
	raw, err := json.Marshal(topics)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(raw)
	trained.Lock()
	k, ok := trained.m[key]
	trained.Unlock()
	if ok {
		return k, nil
	}
	r, err := intents.New(topics, intents.Config{})
	if err != nil {
		return nil, err
	}
	k = bot.NewKnowledge(topics, r)
	trained.Lock()
	if trained.m == nil || len(trained.m) >= maxTrained {
		trained.m = map[[32]byte]*bot.Knowledge{}
	}
	trained.m[key] = k
	trained.Unlock()
	return k, nil
}
