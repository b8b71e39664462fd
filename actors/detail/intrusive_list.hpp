#pragma once
// An intrusive doubly linked list (loop-local): a channel's live calls, a
// serving loop's running handlers. An element derives from ListLinks<T> and
// is on at most one such list; linking and unlinking allocate nothing.

#include <cstddef>

namespace actio::detail {

template <class T>
struct ListLinks {
  ListLinks* list_prev = nullptr;
  ListLinks* list_next = nullptr;
};

template <class T>
class IntrusiveList {
 public:
  using Links = ListLinks<T>;

  void push_front(T* x) noexcept {
    Links* l = x;
    l->list_prev = nullptr;
    l->list_next = head_;
    if (head_) head_->list_prev = l;
    head_ = l;
    ++size_;
  }
  void erase(T* x) noexcept {
    Links* l = x;
    if (l->list_prev) {
      l->list_prev->list_next = l->list_next;
    } else {
      head_ = l->list_next;
    }
    if (l->list_next) l->list_next->list_prev = l->list_prev;
    l->list_prev = l->list_next = nullptr;
    --size_;
  }
  T* front() const noexcept { return head_ ? static_cast<T*>(head_) : nullptr; }
  /// The element after `x`, or nullptr.
  static T* next(T* x) noexcept {
    Links* l = x;
    return l->list_next ? static_cast<T*>(l->list_next) : nullptr;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  Links* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace actio::detail
