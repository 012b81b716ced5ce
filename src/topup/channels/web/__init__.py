"""Customer web pages (server-rendered Django templates); each view is one service call and a render."""
