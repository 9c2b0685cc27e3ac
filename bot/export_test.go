package bot

// PutContactIndexed is putContactIndexed, the body PutContact needs.
var PutContactIndexed = putContactIndexed
