package main

import (
	"errors"
	"io/fs"

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

// buildKnowledge trains the intent router on topics.
func buildKnowledge(topics []bot.Topic) (*bot.Knowledge, error) {
	r, err := intents.New(topics, intents.Config{})
	if err != nil {
		return nil, err
	}
	return bot.NewKnowledge(topics, r), nil
}
