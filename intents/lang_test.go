package intents

import "testing"

func TestDetectLanguageFlagsOnlyClearlyForeignText(t *testing.T) {
	tests := []struct{ text, want string }{
		{"where is my order?", "en"},
		{"hi", "en"},
		{"thx", "en"},
		{"ok", "en"},
		{"Wo ist meine Bestellung? Ich warte seit einer Woche.", "de"},
		{"¿Dónde está mi pedido? No ha llegado todavía", "es"},
		{"Bonjour, je n'ai pas reçu ma commande", "fr"},
		{"Ciao, dove è il mio ordine? Non è arrivato", "it"},
		{"Olá, onde está o meu pedido? Ainda não chegou", "pt"},
		{"Hallo, waar is mijn bestelling? Ik heb nog niets ontvangen", "nl"},
		{"Где мой заказ?", "ru"},
		{"我的订单在哪里？", "zh"},
		{"注文はどこですか", "ja"},
		{"주문이 어디에 있나요?", "ko"},
		{"أين طلبي؟", "ar"},
		{"Πού είναι η παραγγελία μου;", "el"},
		{"I ordered the Café Olé mug, where is it?", "en"},
		{"12345 !!!", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.text); got != tt.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
