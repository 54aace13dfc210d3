"""The words on the pages, in Vietnamese and English."""

TEXTS = {
    "vi": {
        "app": "Quản lý văn bản", "login": "Đăng nhập", "logout": "Đăng xuất",
        "username": "Tên đăng nhập", "password": "Mật khẩu", "search": "Tìm kiếm",
        "documents": "Văn bản", "number": "Số, ký hiệu", "date": "Ngày ban hành",
        "subject": "Trích yếu", "issuer": "Cơ quan ban hành", "status": "Trạng thái",
        "versions": "Các phiên bản", "history": "Lịch sử xử lý", "download": "Tải về",
        "next": "Trang sau", "empty": "Không có văn bản nào.", "type": "Loại văn bản",
        "direction": "Chiều", "outgoing": "Văn bản đi", "incoming": "Văn bản đến",
        "registered": "Đã vào sổ", "draft": "Chưa vào sổ", "arrival": "Số đến",
        "signer": "Người ký", "time": "Thời gian", "actor": "Người thực hiện",
        "action": "Thao tác", "outcome": "Kết quả", "kind": "Loại", "size": "Dung lượng",
    },
    "en": {
        "app": "Document registry", "login": "Log in", "logout": "Log out",
        "username": "Username", "password": "Password", "search": "Search",
        "documents": "Documents", "number": "Number/notation", "date": "Issued",
        "subject": "Subject", "issuer": "Issuing body", "status": "Status",
        "versions": "Versions", "history": "History", "download": "Download",
        "next": "Next page", "empty": "No documents.", "type": "Type",
        "direction": "Direction", "outgoing": "Outgoing", "incoming": "Incoming",
        "registered": "Registered", "draft": "Draft", "arrival": "Incoming number",
        "signer": "Signer", "time": "Time", "actor": "Actor",
        "action": "Action", "outcome": "Outcome", "kind": "Kind", "size": "Size",
    },
}
